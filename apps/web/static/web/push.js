// Web Push on the Notifications page: register the service worker (/sw.js), subscribe
// this browser with the server's VAPID public key and send the subscription to
// /api/v1/push-subscriptions/ (session + CSRF); "Turn off" removes it again.
// Progressive enhancement: without JavaScript the page says so, and email and the
// in-app list keep working. Every outcome is written into the role="status" paragraph.
(function () {
  "use strict";

  var root, statusLine, onButton, offButton;

  // applicationServerKey wants the key's bytes; settings hold url-safe base64 without "=".
  function urlBase64ToUint8Array(text) {
    var padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function failure(name, message) {
    var error = new Error(message);
    error.name = name;
    return error;
  }

  function request(method, body) {
    return fetch(root.getAttribute("data-subscriptions-url"), {
      method: method,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": root.getAttribute("data-csrf-token") || cookie("csrftoken")
      },
      body: JSON.stringify(body)
    });
  }

  // The API answers 400 {field: [messages]} (keys nested under "keys"): one sentence.
  function describe(errors) {
    var parts = [];
    (function walk(value, prefix) {
      if (Array.isArray(value)) { parts.push(prefix + value.join(" ")); return; }
      if (value && typeof value === "object") {
        Object.keys(value).forEach(function (key) { walk(value[key], key + ": "); });
        return;
      }
      if (value) { parts.push(prefix + value); }
    })(errors, "");
    return parts.join(" ") || "the server refused it";
  }

  // Sends a subscription (a PushSubscription or its toJSON()) to the server.
  function save(subscription) {
    var json = typeof subscription.toJSON === "function" ? subscription.toJSON() : subscription;
    var keys = json.keys || {};
    return request("POST", { endpoint: json.endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } })
      .then(function (response) {
        if (response.ok) { return response.json(); }
        return response.json().catch(function () { return {}; }).then(function (errors) {
          throw failure("SaveError", describe(errors));
        });
      });
  }

  // Forgets a subscription on the server; one it never knew (404) is fine.
  function remove(endpoint) {
    return request("DELETE", { endpoint: endpoint }).then(function (response) {
      if (!response.ok && response.status !== 404) {
        throw failure("SaveError", "the server answered " + response.status);
      }
    });
  }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function registration() {
    return navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    });
  }

  function sameKey(subscription, key) {
    var current = subscription.options && subscription.options.applicationServerKey;
    if (!current) { return true; }  // the browser does not say: assume it is ours
    var bytes = new Uint8Array(current);
    if (bytes.length !== key.length) { return false; }
    for (var i = 0; i < key.length; i += 1) { if (bytes[i] !== key[i]) { return false; } }
    return true;
  }

  // Subscribes this browser; a subscription made with an older server key is replaced
  // (subscribe() would refuse a second key for the same worker).
  function subscribe(reg) {
    var key = urlBase64ToUint8Array(root.getAttribute("data-vapid-public-key"));
    return reg.pushManager.getSubscription().then(function (existing) {
      if (existing && sameKey(existing, key)) { return existing; }
      var cleared = existing ? existing.unsubscribe() : Promise.resolve(true);
      return cleared.then(function () {
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      });
    });
  }

  // subscribe() waits on the browser's push service, and with no network Chromium keeps
  // retrying for minutes without settling; past this the page says so (a later visit
  // still saves a subscription that arrived in the end). data-subscribe-timeout (ms)
  // overrides it.
  var SUBSCRIBE_TIMEOUT_MS = 20000;

  function withinTime(promise) {
    var limit = parseInt(root.getAttribute("data-subscribe-timeout"), 10) || SUBSCRIBE_TIMEOUT_MS;
    return new Promise(function (resolve, reject) {
      var timer = window.setTimeout(function () {
        reject(failure("TimeoutError", "no answer in " + Math.round(limit / 1000) + " seconds"));
      }, limit);
      promise.then(
        function (value) { window.clearTimeout(timer); resolve(value); },
        function (error) { window.clearTimeout(timer); reject(error); }
      );
    });
  }

  function explain(error) {
    var name = (error && error.name) || "Error";
    var detail = (error && error.message) ? " (" + name + ": " + error.message + ")" : "";
    if (name === "PermissionDenied" || name === "NotAllowedError") {
      return "Notifications are blocked for this site in your browser's settings. Allow " +
        "them there, then press the button again.";
    }
    if (name === "AbortError" || name === "NetworkError" || name === "TimeoutError") {
      return "Your browser could not reach its push service, so notifications could not be " +
        "turned on here" + detail + ". Please try again later; email and the list below " +
        "still work.";
    }
    if (name === "SaveError") {
      return "This device could not be registered with stressrelief: " + error.message + ".";
    }
    return "Notifications could not be turned on in this browser" + detail + ".";
  }

  function say(text) { statusLine.textContent = text; }

  function show(on) {
    onButton.hidden = on;
    offButton.hidden = !on;
  }

  function busy(yes) {
    onButton.disabled = yes;
    offButton.disabled = yes;
    root.setAttribute("aria-busy", yes ? "true" : "false");
  }

  function turnOn() {
    busy(true);
    say("Turning notifications on…");
    Promise.resolve(Notification.requestPermission())
      .then(function (permission) {
        if (permission !== "granted") {
          throw failure("PermissionDenied", "notifications are not allowed");
        }
        return registration();
      })
      .then(function (reg) { return withinTime(subscribe(reg)); })
      .then(save)
      .then(function () {
        show(true);
        offButton.focus();
        say("Notifications are on for this device. Your next reminder arrives here too.");
      })
      .catch(function (error) { show(false); say(explain(error)); })
      .then(function () { busy(false); });
  }

  function turnOff() {
    busy(true);
    say("Turning notifications off…");
    registration()
      .then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (subscription) {
        if (!subscription) { return null; }
        return remove(subscription.endpoint).then(function () { return subscription.unsubscribe(); });
      })
      .then(function () {
        show(false);
        onButton.focus();
        say("Notifications are off for this device.");
      })
      .catch(function (error) {
        say("Notifications could not be turned off just now (" + error.message + "). Please try again.");
      })
      .then(function () { busy(false); });
  }

  // The page's current state: a browser that is subscribed already is sent again, so the
  // server stays in step (it re-activates an endpoint, or moves it to whoever uses this
  // browser now).
  function start() {
    root = document.querySelector("[data-push]");
    if (!root) { return; }
    statusLine = document.getElementById("push-status");
    onButton = document.getElementById("push-on");
    offButton = document.getElementById("push-off");
    window.stressreliefPush = { save: save, remove: remove, urlBase64ToUint8Array: urlBase64ToUint8Array };
    if (!supported()) {
      say("This browser cannot show push notifications (it lacks service workers or the " +
        "Push API). Email and the list below still work.");
      return;
    }
    onButton.addEventListener("click", turnOn);
    offButton.addEventListener("click", turnOff);
    if (Notification.permission === "denied") {
      show(false);
      say(explain({ name: "PermissionDenied" }));
      return;
    }
    registration()
      .then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (subscription) {
        if (!subscription) {
          show(false);
          say("Notifications are off for this device.");
          return null;
        }
        return save(subscription).then(function () {
          show(true);
          say("Notifications are on for this device.");
        });
      })
      .catch(function (error) { show(false); say(explain(error)); });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
