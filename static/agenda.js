// The timekeeper's countdown on /agenda/{token}: start a round, and each speaker in the
// order shown gets the round's time per speaker; without rounds (a section marked
// data-plain), one countdown of the whole session. Nothing is sent anywhere; without
// JavaScript the page still shows the order and the time boxes.
//
// The clock counts down to an end instant, not ticks: a phone that sleeps or switches apps
// shows the right time when it wakes. The timer is kept in this browser (localStorage), so
// reopening the page picks it up. While it runs, the screen is kept on where the browser
// allows; at 0:00 the phone vibrates where it can and the clock flashes.
(function () {
  "use strict";
  var timer = document.getElementById("timer");
  if (!timer) return;
  var roundEl = document.getElementById("timer-round");
  var nameEl = document.getElementById("timer-name");
  var clockEl = document.getElementById("timer-clock");
  var pauseBtn = document.getElementById("timer-pause");
  var nextBtn = document.getElementById("timer-next");
  var stopBtn = document.getElementById("timer-stop");
  var askStop = document.getElementById("timer-ask-stop");
  var stopYes = document.getElementById("timer-stop-yes");
  var stopNo = document.getElementById("timer-stop-no");
  var sections = document.querySelectorAll(".agenda-round");
  var key = "roundtable-timer:" + location.pathname;
  var state = null;
  var wakeLock = null;

  function fmt(s) {
    var sign = s < 0 ? "−" : "";
    s = Math.abs(s);
    var m = Math.floor(s / 60), r = s % 60;
    return sign + m + ":" + (r < 10 ? "0" : "") + r;
  }

  // Whole seconds left: rounded up while counting down, so a fresh turn shows its full time.
  function left() {
    if (!state) return 0;
    var ms = state.paused ? state.remaining : state.endsAt - Date.now();
    return ms >= 0 ? Math.ceil(ms / 1000) : -Math.floor(-ms / 1000);
  }

  function save() {
    try {
      if (state) localStorage.setItem(key, JSON.stringify(state));
      else localStorage.removeItem(key);
    } catch (e) { /* private browsing: the timer still runs, it is just not kept */ }
  }

  function section() {
    return state ? sections[state.section] : null;
  }

  function markSpeaker() {
    Array.prototype.forEach.call(document.querySelectorAll(".speakers li"), function (li) {
      li.classList.remove("current");
      li.removeAttribute("aria-current");
    });
    var s = section();
    if (!s || state.plain) return;
    var li = s.querySelectorAll(".speakers li")[state.index];
    if (li) {
      li.classList.add("current");
      li.setAttribute("aria-current", "true");
    }
  }

  function show() {
    if (!state) return;
    if (state.plain) {
      roundEl.textContent = state.title;
      nameEl.textContent = "";
      nextBtn.textContent = "End";
    } else {
      roundEl.textContent = state.title + " · speaker " + (state.index + 1) + " of " + state.names.length;
      nameEl.textContent = state.names[state.index];
      nextBtn.textContent = state.index + 1 < state.names.length ? "Next speaker" : "End round";
    }
    var l = left();
    clockEl.textContent = fmt(l);
    timer.classList.toggle("overtime", l < 0);
    pauseBtn.textContent = state.paused ? "Resume" : "Pause";
    if (l <= 0 && !state.paused && !state.signalled) {
      state.signalled = true;
      save();
      signal();
    }
  }

  // Time is up: vibrate where the phone can, and flash the clock.
  function signal() {
    if (navigator.vibrate) {
      try { navigator.vibrate([300, 150, 300]); } catch (e) { /* not allowed */ }
    }
    timer.classList.remove("flash");
    void timer.offsetWidth;
    timer.classList.add("flash");
  }

  function keepAwake(on) {
    if (!("wakeLock" in navigator)) return;
    if (on && !wakeLock && document.visibilityState === "visible") {
      navigator.wakeLock.request("screen").then(function (lock) {
        wakeLock = lock;
        lock.addEventListener("release", function () { wakeLock = null; });
      }).catch(function () { /* refused: the screen may sleep; the clock stays right */ });
    } else if (!on && wakeLock) {
      wakeLock.release();
      wakeLock = null;
    }
  }

  function turn(seconds) {
    state.endsAt = Date.now() + seconds * 1000;
    state.remaining = seconds * 1000;
    state.paused = false;
    state.signalled = false;
  }

  function start(s) {
    var plain = s.hasAttribute("data-plain");
    var names = plain ? [""] : Array.prototype.map.call(s.querySelectorAll(".speakers li"), function (li) {
      return li.textContent;
    });
    if (!names.length) return;
    state = {
      section: Array.prototype.indexOf.call(sections, s),
      title: s.querySelector("h2").firstChild.textContent.trim(),
      plain: plain,
      names: names,
      index: 0,
      seconds: parseInt(s.getAttribute("data-seconds"), 10) || 120
    };
    turn(state.seconds);
    opened();
    timer.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function opened() {
    timer.hidden = false;
    askStop.hidden = true;
    markSpeaker();
    show();
    save();
    keepAwake(!state.paused);
  }

  function stop() {
    state = null;
    timer.hidden = true;
    askStop.hidden = true;
    markSpeaker();
    save();
    keepAwake(false);
  }

  Array.prototype.forEach.call(document.querySelectorAll(".start-round"), function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      start(btn.closest(".agenda-round"));
    });
  });
  pauseBtn.addEventListener("click", function () {
    if (!state) return;
    if (state.paused) {
      state.endsAt = Date.now() + state.remaining;
      state.paused = false;
    } else {
      state.remaining = state.endsAt - Date.now();
      state.paused = true;
    }
    save();
    keepAwake(!state.paused);
    show();
  });
  nextBtn.addEventListener("click", function () {
    if (!state) return;
    if (state.index + 1 >= state.names.length) { stop(); return; }
    state.index += 1;
    turn(state.seconds);
    save();
    markSpeaker();
    show();
  });
  // Stopping throws the timer away, so it asks first.
  stopBtn.addEventListener("click", function () {
    if (!state) return;
    askStop.hidden = false;
    stopYes.focus();
  });
  stopYes.addEventListener("click", stop);
  stopNo.addEventListener("click", function () {
    askStop.hidden = true;
    stopBtn.focus();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      show();
      if (state && !state.paused) keepAwake(true);
    }
  });

  // A timer started earlier on this page, in this browser, carries on.
  try {
    var kept = JSON.parse(localStorage.getItem(key) || "null");
    if (kept && sections[kept.section] && kept.names && kept.names.length) {
      state = kept;
      opened();
    }
  } catch (e) { state = null; }

  setInterval(show, 250);
})();
