// The timekeeper's countdown on /agenda/{token}: start a round, and each speaker in the
// order shown gets the round's time per speaker; without rounds (a section marked
// data-plain), one countdown of the whole session. Nothing is sent anywhere; without
// JavaScript the page still shows the order and the time boxes.
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
  var state = null;

  function fmt(s) {
    var sign = s < 0 ? "−" : "";
    s = Math.abs(s);
    var m = Math.floor(s / 60), r = s % 60;
    return sign + m + ":" + (r < 10 ? "0" : "") + r;
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
    clockEl.textContent = fmt(state.left);
    timer.classList.toggle("overtime", state.left < 0);
    pauseBtn.textContent = state.paused ? "Resume" : "Pause";
  }

  function tick() {
    if (state && !state.paused) {
      state.left -= 1;
      show();
    }
  }

  function start(section) {
    var plain = section.hasAttribute("data-plain");
    var names = plain ? [""] : Array.prototype.map.call(section.querySelectorAll(".speakers li"), function (li) {
      return li.textContent;
    });
    if (!names.length) return;
    state = {
      title: section.querySelector("h2").firstChild.textContent.trim(),
      plain: plain,
      names: names,
      index: 0,
      seconds: parseInt(section.getAttribute("data-seconds"), 10) || 120,
      paused: false
    };
    state.left = state.seconds;
    timer.hidden = false;
    show();
    timer.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function stop() {
    state = null;
    timer.hidden = true;
  }

  Array.prototype.forEach.call(document.querySelectorAll(".start-round"), function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      start(btn.closest(".agenda-round"));
    });
  });
  pauseBtn.addEventListener("click", function () {
    if (state) { state.paused = !state.paused; show(); }
  });
  nextBtn.addEventListener("click", function () {
    if (!state) return;
    if (state.index + 1 >= state.names.length) { stop(); return; }
    state.index += 1;
    state.left = state.seconds;
    state.paused = false;
    show();
  });
  stopBtn.addEventListener("click", stop);
  setInterval(tick, 1000);
})();
