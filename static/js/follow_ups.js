// Lyrics in time and the waveform of a track (templates/mashups/_follow_ups.html): the line
// being sung is highlighted as the track plays, the waveform fills as it plays, and a click
// on either plays from there. Without JavaScript both are plain text and a plain picture.
(function () {
  "use strict";

  function playerOf(element) {
    var card = document.getElementById(element.dataset.player);
    return card ? card.querySelector(".track-body > audio") : null;
  }

  function update(player) {
    var card = player.closest(".track");
    if (!card) return;
    var now = player.currentTime;
    card.querySelectorAll(".lyrics-lines li").forEach(function (line) {
      var current = now >= parseFloat(line.dataset.start) && now < parseFloat(line.dataset.end);
      if (current !== line.classList.contains("current")) {
        line.classList.toggle("current", current);
        if (current) line.setAttribute("aria-current", "true");
        else line.removeAttribute("aria-current");
      }
    });
    var played = card.querySelector(".waveform-played");
    if (played && player.duration > 0) {
      played.style.width = (100 * Math.min(now / player.duration, 1)).toFixed(2) + "%";
    }
  }

  // timeupdate does not bubble; listening in the capture phase catches every player,
  // including those htmx swaps in later.
  document.addEventListener("timeupdate", function (event) {
    if (event.target.matches && event.target.matches(".track-body > audio")) update(event.target);
  }, true);
  document.addEventListener("seeked", function (event) {
    if (event.target.matches && event.target.matches(".track-body > audio")) update(event.target);
  }, true);

  document.addEventListener("click", function (event) {
    var line = event.target.closest(".lyrics-lines li");
    var wave = event.target.closest(".waveform");
    var player = line ? playerOf(line.parentElement) : wave ? playerOf(wave) : null;
    if (!player) return;
    if (line) {
      player.currentTime = parseFloat(line.dataset.start);
    } else if (player.duration > 0) {
      var box = wave.getBoundingClientRect();
      player.currentTime = player.duration * (event.clientX - box.left) / box.width;
    }
    update(player);
  });
})();
