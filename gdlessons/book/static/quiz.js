// The chapters' number and word questions, answerable on the static site with no kernel.
// The build publishes each chapter's questions as data (questions/<chapter>.json, from
// gdlessons.exercises.as_data: the answer, its tolerance or choices, the mistake catalogue, the
// hints and the solution); this script checks an answer the way the notebook's check() does,
// with the same messages, and shows the hints in steps before the solution. A code question
// needs Python: its cell gets links that open the chapter where it runs.
(function () {
  "use strict";

  const normaliseWord = (text) =>
    String(text).trim().toLowerCase().replace(/[-_]/g, " ").split(/\s+/).filter(Boolean).join(" ");

  // A number as Python's f"{v:g}" writes it: 6 significant digits, an exponent of two digits
  // below 1e-4 or from 1e6 on.
  const formatG = (v) => {
    if (v === 0) return "0";
    const exp = Math.floor(Math.log10(Math.abs(v)));
    if (exp < -4 || exp >= 6) {
      const [m, e] = v.toExponential(5).split("e");
      const n = Number(e);
      return `${m.replace(/\.?0+$/, "")}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
    }
    return String(+v.toPrecision(6));
  };

  const toleranceText = (rtol, atol) => {
    const parts = [];
    if (rtol) {
      parts.push(rtol >= 1e-3 ? `${formatG(rtol * 100)}%`
        : `a relative ${rtol.toExponential(0).replace(/e([+-])(\d)$/, "e$10$2")}`);
    }
    if (atol || !parts.length) parts.push(formatG(atol));
    return parts.join(" or ");
  };

  // An answer typed on the page: a number, a fraction or a product (2/6, 3*0.1), or sqrt(...).
  const parseNumber = (text) => {
    const t = String(text).trim();
    if (!t || !/^[0-9eE.+\-*/() ]*(sqrt[0-9eE.+\-*/() ]*)*$/.test(t)) return null;
    try {
      const value = Function(`"use strict"; return (${t.replace(/sqrt/g, "Math.sqrt")});`)();
      return typeof value === "number" ? value : null;
    } catch (e) {
      return null;
    }
  };


  function check(q, typed) {
    if (q.kind === "choice") {
      const norm = new Map(q.choices.map((c) => [normaliseWord(c), c]));
      for (const [word, option] of Object.entries(q.synonyms || {})) norm.set(normaliseWord(word), option);
      const key = normaliseWord(typed);
      if (!norm.has(key)) {
        return { correct: false, message: `Choose one of ${q.choices.map((c) => `'${c}'`).join(", ")}; got '${typed}'.` };
      }
      const chosen = norm.get(key);
      if (chosen === q.answer) return { correct: true, message: "Correct." };
      const known = q.mistakes.find(([wrong]) => normaliseWord(wrong) === normaliseWord(chosen));
      return { correct: false, message: known ? known[1] : `'${typed}' is not it; think about what each option changes.` };
    }
    const value = parseNumber(typed);
    if (value === null) return { correct: false, message: `Expected a number, got '${typed}'.` };
    if (!Number.isFinite(value)) return { correct: false, message: `Expected a finite number, got ${value}.` };
    let close;
    if (q.kind === "int") {
      if (!Number.isInteger(value)) return { correct: false, message: `Expected a whole number, got '${typed}'.` };
      close = (a, b) => a === b;
    } else {
      close = (a, b) => Math.abs(a - b) <= Math.max(q.rtol * Math.max(Math.abs(a), Math.abs(b)), q.atol);
    }
    if (close(value, q.answer)) return { correct: true, message: "Correct." };
    const known = q.mistakes.find(([wrong]) => close(value, wrong));
    if (known) return { correct: false, message: known[1] };
    const expected = q.answer;
    if (expected && close(value, -expected)) {
      return { correct: false, message: "Right size, wrong sign: the question asks for the amount, not its direction." };
    }
    if (expected && Math.abs(expected) <= 1 && close(value, 100 * expected)) {
      return { correct: false, message: "That looks like a percentage: give it as a fraction (0.25, not 25)." };
    }
    if (expected && Math.abs(expected) > 1 && close(value, expected / 100)) {
      return { correct: false, message: "That looks like a fraction: give it as a percentage (25, not 0.25)." };
    }
    const side = value > expected ? "large" : "small";
    const within = q.kind === "int" ? "" : ` (within ${toleranceText(q.rtol, q.atol)} counts)`;
    return { correct: false, message: `Not quite: ${formatG(value)} is too ${side}${within}.` };
  }

  function button(text, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function quiz(q, cell) {
    const box = document.createElement("form");
    box.className = "gdl-quiz";
    box.dataset.question = q.name;
    const prompt = document.createElement("p");
    prompt.innerHTML = `<b>${q.name}.</b> `;
    prompt.append(q.prompt);
    box.appendChild(prompt);
    let input;
    if (q.kind === "choice") {
      input = document.createElement("select");
      ["", ...q.choices].forEach((c) => {
        const option = document.createElement("option");
        option.value = c;
        option.textContent = c || "choose…";
        input.appendChild(option);
      });
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.inputMode = "decimal";
      input.autocomplete = "off";
    }
    input.setAttribute("aria-label", `your answer to ${q.name}`);
    const result = document.createElement("p");
    result.className = "gdl-result";
    result.setAttribute("aria-live", "polite");
    const hints = document.createElement("ol");
    hints.className = "gdl-hints";
    const solution = document.createElement("p");
    solution.className = "gdl-solution";
    let shown = 0;
    const solutionButton = button("Solution", () => {
      solution.textContent = `Solution: ${q.solution}`;
    });
    solutionButton.disabled = true; // after the hints: they come first
    const hintButton = button("Hint", () => {
      if (shown < q.hints.length) {
        const item = document.createElement("li");
        item.textContent = q.hints[shown];
        hints.appendChild(item);
        shown += 1;
      }
      hintButton.textContent = shown < q.hints.length ? `Hint ${shown + 1} of ${q.hints.length}` : "No more hints";
      hintButton.disabled = shown >= q.hints.length;
      solutionButton.disabled = shown < q.hints.length;
    });
    hintButton.textContent = `Hint 1 of ${q.hints.length}`;
    box.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!String(input.value).trim()) {
        result.textContent = "Type your answer first.";
        box.dataset.status = "not attempted";
        return;
      }
      const verdict = check(q, input.value);
      result.textContent = (verdict.correct ? "✓ " : "✗ ") + verdict.message;
      box.dataset.status = verdict.correct ? "correct" : "incorrect";
    });
    const row = document.createElement("div");
    row.className = "gdl-quiz-row";
    row.append(input, button("Check", () => box.requestSubmit()), hintButton, solutionButton);
    box.append(row, result, hints, solution);
    cell.after(box);
  }

  function codeLinks(cell, links) {
    const note = document.createElement("p");
    note.className = "gdl-code-question";
    note.innerHTML = "This task is code, checked by running it: open the chapter " +
      `<a href="${links.colab}">in Colab</a> or <a href="${links.binder}">on Binder</a> ` +
      "(or locally, see the contents page) to write it.";
    cell.after(note);
  }

  async function start() {
    const chapter = window.location.pathname.split("/").pop().replace(/\.html$/, "");
    if (!/^\d\d_/.test(chapter)) return;
    let data;
    try {
      const response = await fetch(`questions/${chapter}.json`);
      if (!response.ok) return;
      data = await response.json();
    } catch (e) {
      return;
    }
    const byName = new Map(data.questions.map((q) => [q.name, q]));
    document.querySelectorAll("div.cell").forEach((cell) => {
      const code = (cell.querySelector(".cell_input") || {}).textContent || "";
      const asked = code.match(/ex\.(q\d+)\.check\((\w+)\)|ex\.(t\d+)\.use\(/);
      const hideOutputs = () => cell.querySelectorAll(".cell_output").forEach((out) => (out.hidden = true));
      if (/(^|\n)\s*progress\(ex\)\s*$/.test(code)) hideOutputs(); // a kernel's tally, not this page's
      if (!asked) return;
      const q = byName.get(asked[1]);
      if (q) quiz(q, cell);
      else codeLinks(cell, data);
      hideOutputs(); // the stored output says "not attempted": answered here, or where it runs
    });
    document.body.dataset.quizzes = String(byName.size);
  }

  window.gdlQuiz = { check, parseNumber, normaliseWord, formatG };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
