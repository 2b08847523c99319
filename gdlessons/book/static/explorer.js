// Sliders for the course's explorers on the static site, with no Python kernel.
// Each explorer's HTML output carries a manifest (script.gdl-frames): its controls, and per
// state the picture drawn ahead of time by the chapter's own PyTorch and matplotlib code, and
// the readout. Moving a control swaps the picture and the readout; nothing is computed here.
//
// Light pages: nothing is fetched until a reader moves a control; then the pictures a next move
// can reach follow in the background, a few at a time: up to two steps further along the
// control just moved, one step along each other control. The rest of the grid is fetched only
// when a move reaches it, so a reader who tries a few states does not download them all. The picture
// and the readout always belong to one state (data-shown): while the state a reader moved to
// is still loading, the explorer says so (data-loading) instead of pairing the new readout with
// the old picture. Each move writes the explorer's state into the page's URL (?x1=2,0,3), and a
// page opened with such a URL starts there.
(function () {
  "use strict";
  const AT_ONCE = 4; // pictures fetched at the same time in the background
  const REACH = 2; // steps ahead fetched along the control moved last

  function control(spec, index, state, onChange) {
    const row = document.createElement("label");
    row.className = "gdl-control";
    const name = document.createElement("span");
    name.className = "gdl-label";
    name.textContent = spec.label;
    row.appendChild(name);
    let input;
    const shown = document.createElement("output");
    shown.className = "gdl-value";
    if (spec.kind === "checkbox") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.addEventListener("input", () => onChange(index, input.checked ? 1 : 0));
    } else if (spec.kind === "dropdown") {
      input = document.createElement("select");
      spec.labels.forEach((label, i) => {
        const option = document.createElement("option");
        option.value = String(i);
        option.textContent = label;
        input.appendChild(option);
      });
      input.addEventListener("input", () => onChange(index, Number(input.value)));
    } else {
      input = document.createElement("input");
      input.type = "range";
      input.min = "0";
      input.max = String(spec.labels.length - 1);
      input.step = "1";
      input.addEventListener("input", () => {
        shown.textContent = spec.labels[Number(input.value)];
        onChange(index, Number(input.value));
      });
    }
    const set = (value) => {
      if (spec.kind === "checkbox") input.checked = value === 1;
      else input.value = String(value);
      shown.textContent = spec.labels[value];
    };
    set(state[index]);
    input.dataset.control = spec.name;
    input.setAttribute("aria-label", spec.label);
    row.appendChild(input);
    if (spec.kind === "slider") row.appendChild(shown);
    return { row, set };
  }

  function subsetNote(manifest) {
    const drawn = Object.keys(manifest.frames).length;
    if (!manifest.subset) {
      return `Move the controls: all ${drawn} states were drawn ahead of time by the chapter's ` +
        "own code; run the chapter in JupyterLab to change it.";
    }
    const thinned = manifest.controls
      .filter((c) => c.all && c.labels.length < c.all)
      .map((c) => `${c.label}: ${c.labels.length} of its ${c.all} values`);
    return `Move the controls: ${drawn.toLocaleString("en")} of the explorer's ` +
      `${manifest.full.toLocaleString("en")} states were drawn ahead of time` +
      (thinned.length ? ` (${thinned.join("; ")}, always with both ends and the start value)` : "") +
      ". Run the chapter in JupyterLab for every value.";
  }

  function setUp(root, id) {
    const data = root.querySelector("script.gdl-frames");
    const image = root.querySelector("img.gdl-figure");
    if (!data || !image) return;
    const manifest = JSON.parse(data.textContent);
    const controls = manifest.controls;
    const state = controls.map((c) => c.initial);
    const title = image.alt;
    const readout = root.querySelector("pre.gdl-readout");
    if (readout) readout.setAttribute("aria-live", "polite");
    const ready = new Map(); // src -> an <img> whose picture is decoded
    const loading = new Map(); // src -> the promise of that <img>
    let current = image;
    let started = false;
    let active = 0;

    const altFor = (indices) =>
      `${title}: ` + controls.map((c, i) => `${c.label} ${c.labels[indices[i]]}`).join(", ");
    const startKey = state.join(",");
    const startFrame = manifest.frames[startKey];
    if (startFrame && image.getAttribute("src") === startFrame.src) {
      // the page's own picture is the start state's frame: it is never fetched twice
      loading.set(startFrame.src, image.decode().then(() => (ready.set(startFrame.src, image), image)));
    }
    image.alt = altFor(state);

    const load = (frame) => {
      if (!loading.has(frame.src)) {
        const img = new Image();
        img.decoding = "async";
        img.src = frame.src;
        img.width = frame.width; // CSS pixels: a picture stored denser is shown at its size
        img.className = image.className;
        img.setAttribute("style", image.getAttribute("style") || "");
        loading.set(frame.src, img.decode().then(() => (ready.set(frame.src, img), img)));
      }
      return loading.get(frame.src);
    };
    // A reader moves one control at a time: only states one control away are fetched ahead,
    // nearest first, up to REACH steps along the control moved last and one along the others.
    let lastMoved = -1;
    const nearestMissing = () => {
      let best = null;
      let bestRank = Infinity;
      for (const [key, frame] of Object.entries(manifest.frames)) {
        if (loading.has(frame.src)) continue;
        let moved = 0;
        let distance = 0;
        let along = -1;
        key.split(",").forEach((v, i) => {
          const d = Math.abs(Number(v) - state[i]);
          if (d > 0) [moved, along] = [moved + 1, i];
          distance += d;
        });
        if (moved !== 1 || distance > (along === lastMoved ? REACH : 1)) continue;
        if (distance < bestRank) [best, bestRank] = [frame, distance];
      }
      return best;
    };
    const pump = () => {
      // in the background, nearest to the state shown first, a few at a time
      while (started && active < AT_ONCE) {
        const frame = nearestMissing();
        if (!frame) {
          if (active === 0) root.dataset.warm = "done";
          return;
        }
        active += 1;
        load(frame).catch(() => {}).finally(() => {
          active -= 1;
          pump();
        });
      }
    };

    const show = (fromUrl) => {
      const key = state.join(",");
      const frame = manifest.frames[key];
      if (!frame) return;
      root.dataset.state = key;
      const indices = state.slice();
      const apply = (img) => {
        if (root.dataset.state !== key) return; // a later move has taken over
        img.alt = altFor(indices);
        if (img !== current) {
          current.replaceWith(img);
          current = img;
        }
        if (readout) readout.textContent = frame.readout;
        root.dataset.shown = key;
        delete root.dataset.loading;
        if (!fromUrl) writeUrl(key);
      };
      const img = ready.get(frame.src);
      const background = () => {
        started = true;
        pump();
      };
      if (img) {
        apply(img);
        background();
      } else {
        // this state's picture first, alone on the link; the neighbours after it
        root.dataset.loading = "true";
        load(frame).then(apply, () => delete root.dataset.loading).finally(background);
      }
    };
    const writeUrl = (key) => {
      const url = new URL(window.location.href);
      if (key === startKey) url.searchParams.delete(id);
      else url.searchParams.set(id, key);
      window.history.replaceState(window.history.state, "", url);
    };

    const panel = document.createElement("div");
    panel.className = "gdl-controls";
    const setters = controls.map((spec, i) => {
      const made = control(spec, i, state, (index, value) => {
        state[index] = value;
        lastMoved = index;
        show(false);
      });
      panel.appendChild(made.row);
      return made.set;
    });
    const picture = document.createElement("div"); // on a phone it scrolls sideways
    picture.className = "gdl-picture";
    image.replaceWith(picture);
    picture.appendChild(image);
    root.insertBefore(panel, picture);
    root.dataset.explorer = id;
    const note = root.querySelector(".gdl-note");
    if (note) note.textContent = subsetNote(manifest);
    root.dataset.state = startKey;
    root.dataset.shown = startKey;
    root.classList.add("gdl-live");

    const asked = new URL(window.location.href).searchParams.get(id);
    if (asked && asked !== startKey && manifest.frames[asked]) {
      asked.split(",").forEach((v, i) => {
        state[i] = Number(v);
        setters[i](state[i]);
      });
      show(true);
    }
  }

  // A figure wider than a phone scrolls inside its box: such a box is reachable from the
  // keyboard (and named), the others stay out of the tab order.
  const scrollers = () =>
    document.querySelectorAll(".cell_output, .gdl-picture").forEach((box) => {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "figure (scrolls sideways)");
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });

  const start = () => {
    document.querySelectorAll(".gdl-explorer").forEach((root, i) => setUp(root, `x${i + 1}`));
    scrollers();
    window.addEventListener("load", scrollers);
    window.addEventListener("resize", scrollers);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
