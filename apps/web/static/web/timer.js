// The mindfulness and heat timers. Each page works without this file as a plain form that
// logs a session; this adds a timer that, when a session ends, submits that same form with
// the minutes it measured, so the server has one path.
//
// A timer is an element marked data-timer:
//   data-mode="down" (mindfulness: counts down) or "up" (heat: counts up)
//   data-minutes              the session's length; "up" stops by itself there
//   data-minimum-minutes      "down": ending earlier than this logs nothing
//   data-warning-minutes      "up": at this minute the [data-timer-warning] alert is
//                             filled with its data-text (shown and announced)
//   data-seconds-per-minute   real seconds per timer minute (60; tests make it 1)
//   data-form                 the id of the form to submit (its field is "minutes")
(function () {
  "use strict";

  var TICK_MS = 200;
  // One breath: 4 s in, 6 s out, the same cycle as the circle in timers.css. Breathing
  // follows real seconds whatever the timer's scale.
  var BREATH_MS = 10000;
  var BREATH_IN_MS = 4000;
  // How long the closing chime rings before the page moves on to log the session.
  var CHIME_MS = 2500;

  function clockNow() {
    return window.performance && performance.now ? performance.now() : Date.now();
  }

  function formatClock(seconds) {
    var whole = Math.max(0, seconds);
    var minutes = Math.floor(whole / 60);
    var rest = whole % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function minutesWord(minutes) {
    return minutes === 1 ? "1 minute" : minutes + " minutes";
  }

  // A soft chime made with the Web Audio API: sine tones with a gentle attack and a long
  // fade, no audio file. Browsers only allow sound after a user gesture, so the context is
  // created on Start; without Web Audio the timer stays silent.
  var audio = null;

  function prepareSound() {
    var AudioContextClass = window.AudioContext || window.webkitAudioContext;
    if (!AudioContextClass) { return; }
    try {
      if (!audio) { audio = new AudioContextClass(); }
      if (audio.state === "suspended" && audio.resume) { audio.resume(); }
    } catch (error) {
      audio = null;
    }
  }

  function chime() {
    if (!audio) { return; }
    try {
      var start = audio.currentTime + 0.05;
      [[528, 0], [792, 0.4]].forEach(function (note) {
        var oscillator = audio.createOscillator();
        var gain = audio.createGain();
        var at = start + note[1];
        oscillator.type = "sine";
        oscillator.frequency.value = note[0];
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.12, at + 0.05);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 2);
        oscillator.connect(gain);
        gain.connect(audio.destination);
        oscillator.start(at);
        oscillator.stop(at + 2.05);
      });
    } catch (error) {
      // A chime is a nicety: never let it stop the session from being logged.
    }
  }

  function Timer(root) {
    this.root = root;
    this.countsDown = root.getAttribute("data-mode") !== "up";
    this.totalMinutes = parseFloat(root.getAttribute("data-minutes")) || 10;
    this.minimumMinutes = parseInt(root.getAttribute("data-minimum-minutes"), 10) || 1;
    this.warningMinutes = parseFloat(root.getAttribute("data-warning-minutes")) || null;
    var secondsPerMinute = parseFloat(root.getAttribute("data-seconds-per-minute"));
    this.msPerMinute = (secondsPerMinute > 0 ? secondsPerMinute : 60) * 1000;
    this.form = document.getElementById(root.getAttribute("data-form"));
    this.minutesField = this.form && this.form.querySelector("[name=minutes]");
    this.clock = root.querySelector("[data-timer-clock]");
    this.toggle = root.querySelector("[data-timer-toggle]");
    this.end = root.querySelector("[data-timer-end]");
    this.status = root.querySelector("[data-timer-status]");
    this.prompt = root.querySelector("[data-timer-prompt]");
    this.guidance = root.querySelector("[data-timer-guidance]");
    this.steps = Array.prototype.slice.call(root.querySelectorAll("[data-timer-steps] li"));
    this.warning = root.querySelector("[data-timer-warning]");
    this.reset();
    this.toggle.addEventListener("click", this.onToggle.bind(this));
    this.end.addEventListener("click", this.onEnd.bind(this));
    // Back from the logged page: a page restored from the browser's cache starts afresh.
    var timer = this;
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) { timer.stopTicking(); timer.reset(); timer.announce(""); }
    });
    root.hidden = false;
  }

  Timer.prototype.reset = function () {
    this.state = "idle";  // idle, running, paused, done
    this.runMs = 0;       // real time run before the current stretch
    this.startedAt = 0;
    this.warned = false;
    if (this.warning) { this.warning.textContent = ""; }
    this.setState("idle");
    this.render();
  };

  Timer.prototype.elapsedMs = function () {
    return this.runMs + (this.state === "running" ? clockNow() - this.startedAt : 0);
  };

  Timer.prototype.elapsedMinutes = function () {
    return this.elapsedMs() / this.msPerMinute;
  };

  Timer.prototype.setState = function (state) {
    this.state = state;
    this.root.setAttribute("data-state", state);
    this.root.classList.toggle("is-active", state === "running" || state === "paused");
    this.root.classList.toggle("is-paused", state === "paused");
    var labels = { idle: "Start", running: "Pause", paused: "Resume", done: "Start" };
    this.toggle.textContent = labels[state];
    this.toggle.disabled = state === "done";
    // The heat timer has no pause: the time counts from when the heat went on.
    this.toggle.hidden = state === "running" && !this.countsDown;
    this.end.hidden = state === "idle";
    this.end.disabled = state === "done";
  };

  Timer.prototype.announce = function (text) {
    this.status.textContent = text;
  };

  Timer.prototype.onToggle = function () {
    if (this.state === "idle") {
      prepareSound();
      this.startedAt = clockNow();
      this.setState("running");
      if (this.warning) { this.warning.textContent = ""; }
      this.announce(this.countsDown ? "Session started. Breathe gently." : "Heat timer started.");
      this.startTicking();
      if (!this.countsDown) { this.end.focus(); }  // the Start button hides while it runs
    } else if (this.state === "running") {
      this.runMs += clockNow() - this.startedAt;
      this.setState("paused");
      this.stopTicking();
      this.render();
      this.announce("Paused, " + this.clock.textContent + " left. Resume when you are ready.");
    } else if (this.state === "paused") {
      prepareSound();
      this.startedAt = clockNow();
      this.setState("running");
      this.announce("Resumed.");
      this.startTicking();
    }
  };

  Timer.prototype.onEnd = function () {
    if (this.state !== "running" && this.state !== "paused") { return; }
    if (this.state === "running") { this.runMs += clockNow() - this.startedAt; }
    this.stopTicking();
    var minutes = Math.min(Math.floor(this.elapsedMinutesStopped()), this.totalMinutes);
    if (!this.countsDown) {
      this.submit(Math.max(1, minutes), "Heat stopped. Logging " + minutesWord(Math.max(1, minutes)) + "…");
      return;
    }
    if (minutes >= this.minimumMinutes) {
      this.submit(minutes, "Session ended. Logging " + minutesWord(minutes) + "…");
      return;
    }
    var done = minutes < 1 ? "less than a minute" : minutesWord(minutes);
    this.reset();
    this.toggle.focus();  // the End button it was on is hidden now
    this.announce(
      "You stopped after " + done + ". Sessions of " + this.minimumMinutes +
      " minutes or more are logged, so nothing was saved this time. Every calm breath " +
      "still helps; start again whenever you like."
    );
  };

  Timer.prototype.elapsedMinutesStopped = function () {
    return this.runMs / this.msPerMinute;
  };

  Timer.prototype.startTicking = function () {
    this.stopTicking();
    this.interval = window.setInterval(this.tick.bind(this), TICK_MS);
    this.tick();
  };

  Timer.prototype.stopTicking = function () {
    if (this.interval) { window.clearInterval(this.interval); }
    this.interval = null;
  };

  Timer.prototype.tick = function () {
    var elapsed = this.elapsedMinutes();
    if (this.warningMinutes && !this.warned && elapsed >= this.warningMinutes) {
      this.warned = true;
      if (this.warning) {
        this.warning.textContent = this.warning.getAttribute("data-text");
      } else {
        this.announce("Time to stop soon.");
      }
      chime();
    }
    if (elapsed >= this.totalMinutes) {
      this.finish();
      return;
    }
    this.render();
  };

  Timer.prototype.finish = function () {
    this.runMs = this.totalMinutes * this.msPerMinute;
    this.stopTicking();
    this.setState("done");
    this.render();
    chime();
    var minutes = this.totalMinutes;
    var text = this.countsDown
      ? "Session complete. Well done. Take a moment before you get up. Logging " +
        minutesWord(minutes) + "…"
      : minutesWord(minutes) + ": the heat session is over. Take the heat away and let " +
        "your skin cool. Logging " + minutesWord(minutes) + "…";
    var timer = this;
    // Let the chime ring out before the page moves on.
    window.setTimeout(function () { timer.submit(minutes, text); }, CHIME_MS);
    this.announce(text);
  };

  Timer.prototype.submit = function (minutes, text) {
    this.setState("done");
    this.announce(text);
    if (!this.form || !this.minutesField) { return; }
    this.minutesField.value = String(minutes);
    HTMLFormElement.prototype.submit.call(this.form);
  };

  Timer.prototype.render = function () {
    var elapsedMs = this.elapsedMs();
    var elapsedSeconds = elapsedMs / this.msPerMinute * 60;
    var shown = this.countsDown
      ? Math.ceil(this.totalMinutes * 60 - elapsedSeconds - 1e-6)
      : Math.floor(elapsedSeconds);
    this.clock.textContent = formatClock(Math.max(0, shown));
    if (this.prompt) { this.renderBreath(elapsedMs); }
    if (this.guidance && this.steps.length) { this.renderGuidance(elapsedMs / this.msPerMinute); }
  };

  Timer.prototype.renderBreath = function (elapsedMs) {
    var text;
    if (this.state === "idle") {
      text = "Press Start when you are ready.";
    } else if (this.state === "paused") {
      text = "Paused.";
    } else if (this.state === "done") {
      text = "Breathe normally.";
    } else {
      text = elapsedMs % BREATH_MS < BREATH_IN_MS ? "Breathe in…" : "Breathe out…";
    }
    if (this.prompt.textContent !== text) { this.prompt.textContent = text; }
  };

  Timer.prototype.renderGuidance = function (elapsedMinutes) {
    var text = this.steps[0].textContent;
    this.steps.forEach(function (step) {
      if (elapsedMinutes >= parseFloat(step.getAttribute("data-minute"))) {
        text = step.textContent;
      }
    });
    if (this.state === "done") { text = "That is your session. Take a moment before you get up."; }
    if (this.guidance.textContent !== text) { this.guidance.textContent = text; }
  };

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-timer]"), function (root) {
      new Timer(root);
    });
  });
})();
