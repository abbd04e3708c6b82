// The gust dashboard: LED buttons, an uptime counter and live network statistics.
// Plain browser JavaScript, no framework, no build step.
"use strict";

const UPTIME_PERIOD_MS = 1000;
// The statistics socket is retried with a growing delay, bounded both in length and in count,
// so a server without WebSocket support is not polled forever.
const WS_RETRY_FIRST_MS = 2000;
const WS_RETRY_MAX_MS = 30000;
const WS_RETRY_MAX_TRIES = 20;
const WAITING = "waiting for live statistics";
const STAT_IDS = [
  "bytes_recv", "bytes_sent",
  "ipv6_pkt_recv", "ipv6_pkt_sent",
  "ipv4_pkt_recv", "ipv4_pkt_sent",
  "tcp_bytes_recv", "tcp_bytes_sent",
];

function $(id) {
  return document.getElementById(id);
}

// ---- LEDs ---------------------------------------------------------------------------------

function showLed(index, on) {
  const lamp = $("lamp-" + index);
  if (lamp) {
    lamp.classList.toggle("on", on);
    lamp.title = on ? "on" : "off";
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
      const onButton = makeButton("LED on", index, true);
      const offButton = makeButton("LED off", index, false);
      const buttons = [onButton, offButton];
      onButton.addEventListener("click", () => setLed(index, true, buttons));
      offButton.addEventListener("click", () => setLed(index, false, buttons));
      item.append(lamp, name, onButton, offButton);
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
    target.textContent = "Uptime: " + formatUptime(ms) + " (" + ms + " ms)";
    target.classList.remove("error");
  } catch (err) {
    target.textContent = "Uptime: unavailable (" + err.message + ")";
    target.classList.add("error");
  } finally {
    uptimeInFlight = false;
  }
}

// ---- Network statistics over a WebSocket ---------------------------------------------------

let wsTries = 0;

function netStatus(text) {
  $("net-status").textContent = text;
}

function showStats(stats) {
  for (const id of STAT_IDS) {
    const value = stats[id];
    if (typeof value === "number" && Number.isFinite(value)) {
      $(id).textContent = value.toLocaleString();
    }
  }
}

function scheduleReconnect() {
  if (wsTries >= WS_RETRY_MAX_TRIES) {
    netStatus(WAITING + " (no connection after " + wsTries + " tries; reload the page to try again)");
    return;
  }
  const delay = Math.min(WS_RETRY_FIRST_MS * 2 ** Math.max(wsTries - 1, 0), WS_RETRY_MAX_MS);
  netStatus(WAITING + " (next try in " + Math.round(delay / 1000) + " s)");
  setTimeout(connectStats, delay);
}

function connectStats() {
  wsTries += 1;
  netStatus(WAITING);
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  let socket;
  try {
    socket = new WebSocket(scheme + "//" + window.location.host + "/");
  } catch (err) {
    console.warn("statistics socket:", err);
    scheduleReconnect();
    return;
  }
  socket.addEventListener("open", () => {
    wsTries = 0;
    netStatus("connected, waiting for the first update");
  });
  socket.addEventListener("message", (event) => {
    try {
      showStats(JSON.parse(event.data));
      netStatus("live, updated " + new Date().toLocaleTimeString());
    } catch (err) {
      console.warn("statistics message is not JSON:", err);
    }
  });
  // Errors are always followed by "close", so reconnecting is done in one place.
  socket.addEventListener("error", () => console.warn("statistics socket error"));
  socket.addEventListener("close", scheduleReconnect);
}

document.addEventListener("DOMContentLoaded", () => {
  loadLeds();
  refreshUptime();
  setInterval(refreshUptime, UPTIME_PERIOD_MS);
  connectStats();
});
