// The live feed: one stream of GET /v1/live per tab (server-sent events, read with fetch so the
// token stays in the Authorization header), handed to the pages that listen. After a network
// drop it reconnects with Last-Event-ID, so nothing recorded meanwhile is missed; a row that
// comes twice (a reconnect, another API process) is dropped by its id.

import { token } from "./api.js";

const handlers = new Set();
const seen = new Set();
let lastId = null;
let running = null; // the AbortController of the stream being read
let state = "off";
const stateHandlers = new Set();

// listen(handler): handler({type: "case"|"notice", ...}) for each new row; returns a function
// that stops listening. A page's handler is dropped once the page has left the document.
export function listen(handler, page = null) {
  let shown = false; // a page is drawn before it is put in the document
  const wrapped = (message) => {
    if (page && page.isConnected) shown = true;
    if (page && !page.isConnected) {
      if (shown) handlers.delete(wrapped);
      return;
    }
    handler(message);
  };
  handlers.add(wrapped);
  return () => handlers.delete(wrapped);
}

export function current() {
  return state;
}

export function onState(handler) {
  stateHandlers.add(handler);
  handler(state);
}

function setState(value) {
  state = value;
  for (const handler of stateHandlers) handler(value);
}

export function start() {
  if (running || !token()) return;
  running = new AbortController();
  follow(running.signal);
}

export function stop() {
  if (running) running.abort();
  running = null;
  lastId = null;
  seen.clear();
  setState("off");
}

async function follow(signal) {
  let wait = 500;
  while (!signal.aborted && token()) {
    try {
      await read(signal);
      wait = 500;
    } catch {
      // the network dropped, or the server went away: try again, a little later each time
    }
    if (signal.aborted) break;
    setState("reconnecting");
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 15000);
  }
}

async function read(signal) {
  const headers = { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" };
  if (lastId) headers["Last-Event-ID"] = lastId;
  const response = await fetch("/v1/live", { headers, signal, cache: "no-store" });
  if (!response.ok || !response.body) throw new Error(`live feed: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { type: "message", data: "", id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, "");
      buffer = buffer.slice(end + 1);
      if (line === "") {
        if (event.data) dispatch(event);
        event = { type: "message", data: "", id: null };
      } else if (line.startsWith("event:")) {
        event.type = line.slice(6).trim();
      } else if (line.startsWith("data:")) {
        event.data += line.slice(5).trim();
      } else if (line.startsWith("id:")) {
        event.id = line.slice(3).trim();
      }
    }
  }
}

function dispatch(event) {
  if (event.id) lastId = event.id;
  if (event.type === "ready") {
    setState("live");
    return;
  }
  const message = JSON.parse(event.data);
  const key = `${message.type}:${message.id}`;
  if (seen.has(key)) return;
  seen.add(key);
  if (seen.size > 5000) seen.delete(seen.values().next().value);
  for (const handler of Array.from(handlers)) {
    try {
      handler(message);
    } catch (error) {
      console.error(error);
    }
  }
}

// A function that calls `work` once, shortly after the last of several quick calls: a page
// redrawn once for a burst of events.
export function debounce(work, ms = 250) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(work, ms);
  };
}

// Draw `page` with `draw(container)` again whenever a message `wants` arrives (a burst once),
// swapping the new content in whole. One drawing at a time: a message that arrives while one is
// under way draws once more after it, so a slow drawing started before an event never replaces
// one started after it, and what is shown is never older than the last event.
export function keepLive(page, draw, wants = () => true) {
  let drawing = false;
  let again = false;
  const run = async () => {
    if (!page.isConnected) return;
    if (drawing) {
      again = true;
      return;
    }
    drawing = true;
    try {
      do {
        again = false;
        const fresh = document.createElement("div");
        try {
          await draw(fresh);
        } catch (error) {
          console.error(error);
          continue;
        }
        if (page.isConnected) page.replaceChildren(...fresh.childNodes);
      } while (again && page.isConnected);
    } finally {
      drawing = false;
    }
  };
  const redraw = debounce(run, 300);
  listen((message) => {
    if (wants(message)) redraw();
  }, page);
}
