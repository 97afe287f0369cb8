// stressrelief's service worker, served from the site root as /sw.js (scope "/").
//
// It does two things and nothing else (no caching, no fetch handler):
// - `push`: shows the nudge the server sent. The payload is JSON made by
//   apps/delivery/webpush.py push_payload: {title, body, nudge_ids, tag, url, actions,
//   action_urls: {done: [url per nudge], snooze: [...]}}; action_urls may be missing when
//   the message was too long for a push.
// - `notificationclick`: "Done" or "Snooze" POSTs the signed one-click links of every
//   nudge in the message. The token in the link is the credential (apps/delivery/links.py),
//   so no session or CSRF token is needed and none is sent (credentials: "omit"); a snooze
//   without a body lasts the usual 10 minutes. A click on the notification itself, an
//   action without links, or a link that fails opens (or focuses) the page at `url`.
"use strict";

var FALLBACK_URL = "/today/";

self.addEventListener("install", function () {
  self.skipWaiting();  // a new version replaces the old one at once: there is no cache
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function payloadOf(event) {
  if (!event.data) { return {}; }
  try {
    return event.data.json();
  } catch (error) {
    return { body: event.data.text() };
  }
}

self.addEventListener("push", function (event) {
  var data = payloadOf(event);
  var actions = Array.isArray(data.actions) ? data.actions.filter(function (action) {
    return action && action.action && action.title;
  }) : [];
  var options = {
    body: data.body || "",
    data: { url: data.url || FALLBACK_URL, actionUrls: data.action_urls || {} },
    actions: actions.slice(0, self.Notification && Notification.maxActions || 2)
  };
  if (data.tag) {
    options.tag = data.tag;  // a redelivery replaces the notification instead of stacking
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(data.title || "stressrelief", options));
});

// The links are made with SITE_URL; post them to this worker's own origin, which is the
// site, so the Content-Security-Policy's connect-src 'self' holds whatever host name
// SITE_URL uses.
function onThisOrigin(link) {
  var url = new URL(link, self.location.origin);
  return new URL(url.pathname + url.search, self.location.origin).href;
}

function openPage(link) {
  var target = onThisOrigin(link || FALLBACK_URL);
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i += 1) {
      if (windows[i].url === target && "focus" in windows[i]) { return windows[i].focus(); }
    }
    return self.clients.openWindow ? self.clients.openWindow(target) : null;
  });
}

self.addEventListener("notificationclick", function (event) {
  var notification = event.notification;
  var data = notification.data || {};
  var links = (event.action && data.actionUrls && data.actionUrls[event.action]) || [];
  notification.close();
  if (!links.length) {
    event.waitUntil(openPage(data.url));
    return;
  }
  event.waitUntil(
    Promise.all(links.map(function (link) {
      return fetch(onThisOrigin(link), { method: "POST", credentials: "omit" });
    })).then(function (responses) {
      var failed = responses.some(function (response) { return !response.ok; });
      // Already done, used or expired: show the page, where the reminder's state is.
      return failed ? openPage(data.url) : null;
    }, function () {
      return openPage(data.url);  // offline: the page will say so, or act there later
    })
  );
});
