// The chat page: post and receive by WebSocket (default) or by long polling
// (?transport=poll). Messages arrive as HTML the server rendered with
// autoescaping, so user text is never interpreted as markup.
"use strict";

function getCookie(name) {
  const match = document.cookie.match("\\b" + name + "=([^;]*)\\b");
  return match ? decodeURIComponent(match[1]) : undefined;
}

function showMessage(message) {
  if (document.getElementById("m" + message.id)) {
    return;  // already shown (our own post comes back through the channel)
  }
  const inbox = document.getElementById("inbox");
  inbox.insertAdjacentHTML("beforeend", message.html);
}

function lastMessageId() {
  const messages = document.querySelectorAll("#inbox .message");
  return messages.length ? messages[messages.length - 1].id.slice(1) : null;
}

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

const longPoll = {
  errorSleep: 500,

  async post(body) {
    const form = new FormData();
    form.append("body", body);
    form.append("_xsrf", getCookie("_xsrf"));
    const response = await fetch("/a/message/new", {method: "POST", body: form});
    if (response.ok) {
      showMessage(await response.json());
    }
  },

  async poll() {
    for (;;) {
      const form = new FormData();
      const cursor = lastMessageId();
      if (cursor) {
        form.append("cursor", cursor);
      }
      form.append("_xsrf", getCookie("_xsrf"));
      try {
        const request = fetch("/a/message/updates", {method: "POST", body: form});
        setStatus("poll: connected");
        const response = await request;
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        const data = await response.json();
        data.messages.forEach(showMessage);
        this.errorSleep = 500;
      } catch (err) {
        setStatus("poll: " + err + "; retrying");
        await new Promise((resolve) => setTimeout(resolve, this.errorSleep));
        this.errorSleep = Math.min(this.errorSleep * 2, 30000);
      }
    }
  },

  start() {
    this.poll();
  },
};

const socket = {
  ws: null,

  post(body) {
    this.ws.send(JSON.stringify({body: body}));
  },

  start() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    this.ws = new WebSocket(scheme + location.host + "/chatsocket");
    this.ws.onopen = () => setStatus("ws: connected");
    this.ws.onmessage = (event) => showMessage(JSON.parse(event.data));
    this.ws.onclose = () => {
      setStatus("ws: closed; reconnecting");
      setTimeout(() => this.start(), 1000);
    };
  },
};

document.addEventListener("DOMContentLoaded", () => {
  const transport = document.body.dataset.transport === "poll" ? longPoll : socket;
  const form = document.getElementById("messageform");
  const input = document.getElementById("message");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = input.value;
    if (body) {
      transport.post(body);
      input.value = "";
      input.focus();
    }
  });
  input.focus();
  transport.start();
});
