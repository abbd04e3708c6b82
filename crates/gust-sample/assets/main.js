// The gust dashboard: LED buttons, an uptime counter and live network statistics.
// Plain browser JavaScript, no framework, no build step.
"use strict";

const UPTIME_PERIOD_MS = 1000;
// The statistics socket is reopened whenever it closes, after a delay that starts short (a
// server restart is over in a moment) and doubles up to a bound (a server that is down, or
// has no WebSocket, costs one attempt every few seconds). An open socket resets the delay.
const WS_RETRY_FIRST_MS = 500;
const WS_RETRY_MAX_MS = 10000;
const WAITING = "waiting for live statistics";
// Cells whose id is the message's key and whose value is a count.
const COUNT_IDS = [
  "bytes_recv", "bytes_sent",
  "ipv6_pkt_recv", "ipv6_pkt_sent",
  "ipv4_pkt_recv", "ipv4_pkt_sent",
  "tcp_bytes_recv", "tcp_bytes_sent",
  "connections_accepted", "connections_open",
  "websockets_open", "tls_handshakes",
];
// The message's "requests" object: its keys are protocol names, not valid as plain ids.
const REQUEST_IDS = {
  "http/1.1": "requests_http1",
  "h2": "requests_h2",
  "websocket": "requests_websocket",
};

function $(id) {
  return document.getElementById(id);
}

// ---- LEDs ---------------------------------------------------------------------------------

// The lamp shows the state at a glance; the word beside it says it to everyone (colour
// alone is not enough, and screen readers read the word).
function showLed(index, on) {
  const lamp = $("lamp-" + index);
  if (lamp) {
    lamp.classList.toggle("on", on);
    lamp.title = on ? "on" : "off";
  }
  const state = $("led-state-" + index);
  if (state) {
    state.textContent = on ? "on" : "off";
    state.classList.toggle("on", on);
  }
}

function ledStatus(text, isError) {
  const status = $("led-status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(isError));
}

async function setLed(index, on, buttons) {
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const response = await fetch("/led", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ led_num: index, led_state: on }),
    });
    const text = await response.text();
    if (!response.ok) {
      ledStatus("LED " + index + ": " + (text.trim() || response.status), true);
      return;
    }
    const state = JSON.parse(text);
    showLed(state.led_num, state.led_state);
    ledStatus("LED " + state.led_num + " switched " + (state.led_state ? "on" : "off"));
  } catch (err) {
    ledStatus("LED " + index + ": " + err, true);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

function makeButton(label, index, on) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-label", "LED " + index + " " + (on ? "on" : "off"));
  return button;
}

async function loadLeds() {
  const list = $("leds");
  try {
    const response = await fetch("/led", { cache: "no-store" });
    if (!response.ok) {
      throw new Error("GET /led answered " + response.status);
    }
    const states = (await response.json()).leds;
    if (!Array.isArray(states)) {
      throw new Error("GET /led answered without a list of LEDs");
    }
    list.replaceChildren();
    states.forEach((on, index) => {
      const item = document.createElement("li");
      const lamp = document.createElement("span");
      lamp.className = "lamp";
      lamp.id = "lamp-" + index;
      const name = document.createElement("span");
      name.className = "led-name";
      name.textContent = "LED " + index;
      const state = document.createElement("span");
      state.className = "led-state";
      state.id = "led-state-" + index;
      const onButton = makeButton("LED on", index, true);
      const offButton = makeButton("LED off", index, false);
      const buttons = [onButton, offButton];
      onButton.addEventListener("click", () => setLed(index, true, buttons));
      offButton.addEventListener("click", () => setLed(index, false, buttons));
      item.append(lamp, name, state, onButton, offButton);
      list.append(item);
      showLed(index, Boolean(on));
    });
    ledStatus(states.length + (states.length === 1 ? " LED" : " LEDs"));
  } catch (err) {
    ledStatus("cannot read the LEDs: " + err.message, true);
  }
}

// ---- Uptime -------------------------------------------------------------------------------

function pad(n, width) {
  return String(n).padStart(width, "0");
}

// 3723456 -> "1:02:03.456"; past a day the days are written in front ("2 d 01:02:03.456").
function formatUptime(ms) {
  const millis = ms % 1000;
  const totalSeconds = Math.floor(ms / 1000);
  const seconds = totalSeconds % 60;
  const minutes = Math.floor(totalSeconds / 60) % 60;
  const totalHours = Math.floor(totalSeconds / 3600);
  const days = Math.floor(totalHours / 24);
  const clock = ":" + pad(minutes, 2) + ":" + pad(seconds, 2) + "." + pad(millis, 3);
  if (days > 0) {
    return days + " d " + pad(totalHours % 24, 2) + clock;
  }
  return totalHours + clock;
}

let uptimeInFlight = false;
// Whether the last /uptime answer failed: the next success means the server is back.
let uptimeFailed = false;

// "Uptime: 0:01:02.345 (62345 ms)", the milliseconds kept on one line when it wraps.
function showUptime(ms) {
  const target = $("uptime");
  const clock = document.createElement("strong");
  clock.textContent = formatUptime(ms);
  const millis = document.createElement("span");
  millis.className = "ms";
  millis.textContent = "(" + ms + " ms)";
  target.replaceChildren("Uptime: ", clock, " ", millis);
  target.classList.remove("error");
}

async function refreshUptime() {
  // A slow server must not pile up requests: skip a tick while the last one is out.
  if (uptimeInFlight) {
    return;
  }
  uptimeInFlight = true;
  const target = $("uptime");
  try {
    const response = await fetch("/uptime", { cache: "no-store" });
    const text = (await response.text()).trim();
    const ms = Number(text);
    if (!response.ok || text === "" || !Number.isSafeInteger(ms) || ms < 0) {
      throw new Error("unexpected answer " + response.status);
    }
    showUptime(ms);
    showTransport(response.url);
    if (uptimeFailed) {
      uptimeFailed = false;
      serverIsBack();
    }
  } catch (err) {
    target.textContent = "Uptime: unavailable (" + err.message + ")";
    target.classList.add("error");
    uptimeFailed = true;
  } finally {
    uptimeInFlight = false;
  }
}

// ---- Network statistics over a WebSocket ---------------------------------------------------

let wsDelayMs = WS_RETRY_FIRST_MS;
let wsTimer = null;
let wsSocket = null;

function netStatus(text) {
  $("net-status").textContent = text;
}

// The indicator beside the heading: connecting, connected, reconnecting or unavailable.
function wsState(state, text) {
  const badge = $("ws-state");
  badge.dataset.state = state;
  badge.textContent = text;
  // Figures stay on screen while the socket is down, greyed as the last ones known.
  $("stats").classList.toggle("stale", state !== "connected");
}

// Counts past 2^53 arrive rounded; shown rounded, they are still better than none.
function isCount(value) {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function showCount(id, value) {
  if (isCount(value)) {
    $(id).textContent = value.toLocaleString();
  }
}

function showStats(stats) {
  for (const id of COUNT_IDS) {
    showCount(id, stats[id]);
  }
  const requests = stats.requests;
  if (requests && typeof requests === "object") {
    for (const [key, id] of Object.entries(REQUEST_IDS)) {
      showCount(id, requests[key]);
    }
  }
  if (isCount(stats.uptime_ms)) {
    $("uptime_ms").textContent = formatUptime(stats.uptime_ms);
  }
}

function scheduleReconnect() {
  wsSocket = null;
  if (document.hidden) {
    // Nobody is looking: try again when the page is shown (see the visibility handler).
    wsState("reconnecting", "reconnecting when shown");
    return;
  }
  const delay = wsDelayMs;
  wsDelayMs = Math.min(wsDelayMs * 2, WS_RETRY_MAX_MS);
  wsState("reconnecting", "reconnecting in " + (delay / 1000).toFixed(1) + " s");
  netStatus(WAITING);
  wsTimer = setTimeout(() => {
    wsTimer = null;
    connectStats();
  }, delay);
}

function connectStats() {
  if (!("WebSocket" in window)) {
    wsState("unavailable", "no WebSocket in this browser");
    return;
  }
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  let socket;
  try {
    socket = new WebSocket(scheme + "//" + window.location.host + "/");
  } catch (err) {
    console.warn("statistics socket:", err);
    scheduleReconnect();
    return;
  }
  wsSocket = socket;
  if ($("ws-state").dataset.state === "reconnecting") {
    wsState("reconnecting", "reconnecting\u2026");
  } else {
    wsState("connecting", "connecting");
  }
  socket.addEventListener("open", () => {
    wsDelayMs = WS_RETRY_FIRST_MS;
    wsState("connected", "connected");
    netStatus("connected, waiting for the first update");
  });
  socket.addEventListener("message", (event) => {
    let stats;
    try {
      stats = JSON.parse(event.data);
    } catch (err) {
      console.warn("statistics message is not JSON:", err);
      return;
    }
    if (stats && typeof stats === "object") {
      showStats(stats);
      netStatus("live, updated " + new Date().toLocaleTimeString());
    }
  });
  // Errors are always followed by "close", so reconnecting is done in one place.
  socket.addEventListener("error", () => console.warn("statistics socket error"));
  socket.addEventListener("close", scheduleReconnect);
}

// The server answered /uptime again after failing to: it has restarted. A statistics socket
// waiting out its backoff is reopened now rather than up to WS_RETRY_MAX_MS later. Only the
// change from failing to answering does this, so a server that answers HTTP but refuses
// the socket (no WebSocket, too many open) still costs one attempt per backoff delay.
function serverIsBack() {
  if (wsSocket !== null || wsTimer === null || document.hidden) {
    return;
  }
  clearTimeout(wsTimer);
  wsTimer = null;
  connectStats();
}

// A hidden page does not retry; shown again, it retries at once instead of waiting out a
// delay that may have grown while nobody looked.
document.addEventListener("visibilitychange", () => {
  if (document.hidden || wsSocket !== null) {
    return;
  }
  if (wsTimer !== null) {
    clearTimeout(wsTimer);
    wsTimer = null;
  }
  connectStats();
});

// ---- Transport ----------------------------------------------------------------------------

const PROTOCOL_NAMES = {
  "http/1.1": "HTTP/1.1",
  "h2": "HTTP/2",
  "h2c": "HTTP/2",
  "h3": "HTTP/3",
};

let transportShown = false;

// Which protocol the page talks to the server with, as the browser reports it (Resource
// Timing's nextHopProtocol): HTTP/2 over HTTPS, HTTP/1.1 over plain HTTP. The page's own
// entry says how it came, unless it came from the cache: then the first /uptime answer,
// never cached, says it. Browsers that do not say get no line rather than a guess.
function showTransport(uptimeUrl) {
  if (transportShown) {
    return;
  }
  const candidates = performance.getEntriesByType("navigation")
    .concat(performance.getEntriesByName(uptimeUrl));
  const found = candidates.find((entry) => entry.nextHopProtocol);
  if (!found) {
    return;
  }
  transportShown = true;
  const protocol = found.nextHopProtocol;
  const name = PROTOCOL_NAMES[protocol] || protocol;
  const secure = window.location.protocol === "https:" ? " over TLS" : " without TLS";
  $("transport").textContent = "Talking to the server over " + name + secure + ".";
}

document.addEventListener("DOMContentLoaded", () => {
  loadLeds();
  refreshUptime();
  setInterval(refreshUptime, UPTIME_PERIOD_MS);
  connectStats();
});
