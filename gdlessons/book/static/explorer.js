// Sliders for the course's explorers on the static site, with no Python kernel.
// Each explorer's HTML output carries a manifest (script.gdl-frames): its controls, and per
// state the picture drawn ahead of time by the chapter's own PyTorch and matplotlib code, and
// the readout. Moving a control swaps the picture and the readout; nothing is computed here.
(function () {
  "use strict";

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
      input.checked = state[index] === 1;
      input.addEventListener("input", () => onChange(index, input.checked ? 1 : 0));
    } else if (spec.kind === "dropdown") {
      input = document.createElement("select");
      spec.labels.forEach((label, i) => {
        const option = document.createElement("option");
        option.value = String(i);
        option.textContent = label;
        input.appendChild(option);
      });
      input.value = String(state[index]);
      input.addEventListener("input", () => onChange(index, Number(input.value)));
    } else {
      input = document.createElement("input");
      input.type = "range";
      input.min = "0";
      input.max = String(spec.labels.length - 1);
      input.step = "1";
      input.value = String(state[index]);
      shown.textContent = spec.labels[state[index]];
      input.addEventListener("input", () => {
        shown.textContent = spec.labels[Number(input.value)];
        onChange(index, Number(input.value));
      });
    }
    input.dataset.control = spec.name;
    input.setAttribute("aria-label", spec.label);
    row.appendChild(input);
    if (spec.kind === "slider") row.appendChild(shown);
    return row;
  }

  function setUp(root) {
    const data = root.querySelector("script.gdl-frames");
    const image = root.querySelector("img.gdl-figure");
    if (!data || !image) return;
    const manifest = JSON.parse(data.textContent);
    const state = manifest.controls.map((c) => c.initial);
    const readout = root.querySelector("pre.gdl-readout");
    const decoded = new Map(); // src -> an <img> whose picture is already decoded
    let warm = false;
    const warmUp = () => {
      // Fetch and decode every picture once: a later move swaps in a decoded image element,
      // so it neither waits for the network nor decodes again.
      if (warm) return;
      warm = true;
      const decoding = [];
      for (const frame of Object.values(manifest.frames)) {
        if (decoded.has(frame.src)) continue;
        const img = new Image();
        img.src = frame.src;
        img.width = frame.width; // CSS pixels: a picture stored denser is shown at its size
        img.className = image.className;
        img.alt = image.alt;
        img.setAttribute("style", image.getAttribute("style") || "");
        decoded.set(frame.src, img);
        decoding.push(img.decode().catch(() => {}));
      }
      Promise.all(decoding).then(() => (root.dataset.warm = "done"));
    };
    let current = image;
    const show = () => {
      const key = state.join(",");
      const frame = manifest.frames[key];
      if (!frame) return;
      let next = decoded.get(frame.src);
      if (!next || !next.complete) {
        next = image; // not loaded yet: the page's own element loads it
        image.src = frame.src;
        image.width = frame.width;
      }
      if (next !== current) {
        current.replaceWith(next);
        current = next;
      }
      if (readout) readout.textContent = frame.readout;
      root.dataset.state = key;
    };
    const panel = document.createElement("div");
    panel.className = "gdl-controls";
    manifest.controls.forEach((spec, i) => {
      panel.appendChild(
        control(spec, i, state, (index, value) => {
          state[index] = value;
          show();
        }),
      );
    });
    root.insertBefore(panel, image);
    root.addEventListener("pointerenter", warmUp);
    root.addEventListener("focusin", warmUp);
    const note = root.querySelector(".gdl-note");
    if (note) {
      const drawn = Object.keys(manifest.frames).length;
      note.textContent = manifest.subset
        ? `Move the controls: ${drawn} of the explorer's ${manifest.full} states were drawn ` +
          "ahead of time (every other value along the longest sliders, their ends and start " +
          "values kept). Run the chapter in JupyterLab for every value."
        : `Move the controls: all ${drawn} states were drawn ahead of time by the chapter's ` +
          "own code; run the chapter in JupyterLab to change it.";
    }
    root.dataset.state = state.join(",");
    root.classList.add("gdl-live");
  }

  const start = () => document.querySelectorAll(".gdl-explorer").forEach(setUp);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
