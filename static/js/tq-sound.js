/* Sounds made with WebAudio (no audio files): a two-note chime and a speech helper. */
(function () {
  "use strict";
  let context = null;

  function audio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!context) context = new Ctx();
    if (context.state === "suspended") context.resume();
    return context;
  }

  function note(ctx, frequency, start, length) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + length + 0.05);
  }

  /* A rising "ding-dong" (E5 then A5); quiet failures where audio is not allowed yet. */
  function chime() {
    const ctx = audio();
    if (!ctx) return;
    const now = ctx.currentTime;
    note(ctx, 659.25, now, 0.6);
    note(ctx, 880.0, now + 0.25, 0.9);
  }

  function speak(text) {
    if (!("speechSynthesis" in window)) return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.rate = 0.95;
    window.speechSynthesis.speak(utterance);
  }

  window.TQSound = { chime, speak, unlock: audio };
})();
