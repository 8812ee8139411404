/* Fitting text into boxes on a screen read from across a room (docs/pages.md, "Display").
 *
 * TQFit.floorPx(): the smallest text allowed, 1.8 % of the screen's shorter side (19 px at
 *   1080p, 13 px at 720p, 39 px at 2160p): the same physical size on any TV of a given
 *   diagonal, whatever its resolution.
 * TQFit.measure(card): how many "em" a card needs, from a hidden copy filled with the
 *   longest content it must show, so the figures follow whatever font the TV really has.
 * TQFit.grid(n, box, gap, need, floor): columns, rows and the card's font size (px).
 * TQFit.text(elements, floor): shrinks each single-line text that is wider than its box,
 *   down to the floor; only past the floor does CSS cut it (ellipsis).
 * Sizes are set through the CSSOM (style.setProperty), which the CSP allows. */
(function () {
  "use strict";
  const FLOOR_VMIN = 1.8;
  const PROBE_PX = 100;

  function floorPx() {
    return (FLOOR_VMIN * Math.min(window.innerWidth, window.innerHeight)) / 100;
  }

  /* Fill a detached copy of `card` with `content` ({selector: text}) at 100 px and measure:
   * w = widest line that must fit at full size, h = the card's height, worst = width of the
   * line that may shrink (the name), pad = horizontal padding + border; all in em. */
  function measure(card, content, shrinkable) {
    const probe = card.cloneNode(true);
    probe.removeAttribute("id");
    probe.classList.add("fit-probe");
    probe.style.setProperty("font-size", PROBE_PX + "px");
    for (const [selector, text] of Object.entries(content)) probe.querySelector(selector).textContent = text;
    document.body.append(probe);
    const style = getComputedStyle(probe);
    const pad = ["paddingLeft", "paddingRight", "borderLeftWidth", "borderRightWidth"]
      .reduce((sum, key) => sum + parseFloat(style[key]), 0);
    let w = 0;
    let worst = 0;
    for (const p of probe.querySelectorAll("p")) {
      if (p.matches(shrinkable)) worst = Math.max(worst, p.scrollWidth);
      else w = Math.max(w, p.scrollWidth);
    }
    const need = { w: (w + pad) / PROBE_PX, h: probe.offsetHeight / PROBE_PX, worst: worst / PROBE_PX, pad: pad / PROBE_PX };
    probe.remove();
    return need;
  }

  /* The column count that gives the largest text while a worst-case name still fits at the
   * floor; if none can (far more tables than a screen holds), simply the largest text. */
  function grid(n, box, gap, need, floor) {
    let best = null;
    for (let cols = 1; cols <= Math.max(1, n); cols += 1) {
      const rows = Math.ceil(n / cols);
      const cw = (box.width - (cols - 1) * gap) / cols;
      const ch = (box.height - (rows - 1) * gap) / rows;
      const size = Math.min(cw / need.w, ch / need.h);
      const fits = size >= floor && cw >= need.worst * floor + need.pad * size;
      const better = !best || (fits && !best.fits) || (fits === best.fits && size > best.size);
      if (better) best = { cols, rows, size, fits };
    }
    return best;
  }

  function text(elements, floor) {
    // Reads, then writes, then reads again: one layout per pass, not one per element.
    const list = [...elements];
    for (const el of list) el.style.removeProperty("font-size");
    for (let pass = 0; pass < 3; pass += 1) {
      const over = list
        .filter((el) => el.scrollWidth > el.clientWidth)
        .map((el) => [el, parseFloat(getComputedStyle(el).fontSize), el.clientWidth / el.scrollWidth]);
      if (!over.length) return;
      for (const [el, size, ratio] of over) {
        el.style.setProperty("font-size", Math.max(floor, Math.floor(size * ratio * 0.98 * 10) / 10) + "px");
      }
    }
  }

  window.TQFit = { floorPx, measure, grid, text };
})();
