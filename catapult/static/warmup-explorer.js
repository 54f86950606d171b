/* catapult-book: the warmup-model explorer of chapter 1 (book/01_warmup_model.ipynb).

   Plain JavaScript, no library, no network, no kernel. It turns every
   <div class="warmup-explorer" data-c="2.5" data-n="1000" data-f0="1" data-steps="500"></div>
   into sliders for c = ηλ0, the width n and the initial output f0 (λ0 = 1, so η = c), iterates
   the exact dynamics of the warmup model (eqs. 6-7) in float64 with the arithmetic order of
   catapult.warmup.exact_step, draws the loss and ηλ against physical time t·η as inline SVG,
   and reports the phase the run lands in with the rules of catapult.warmup.classify.
   catapult.explorer.warmup() shows it as a cell's output, the container, this script and
   warmup-explorer.css inline, so the same cell works on the site, in Colab and in Jupyter; a
   container set up once is left alone. Without a container this script does nothing.
   tests/test_explorer.py checks its numbers against catapult.warmup. */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var C_CRIT = 2.0, C_MAX = 4.0, LAM0 = 1.0, TOL = 1e-6;
  var COLORS = {lazy: "#3B75AF", catapult: "#E1812C", divergent: "#C03D3E", unconverged: "#7f7f7f"};
  var serial = 0;

  // ------------------------------------------------------------------ the dynamics

  // One step of eqs. (6)-(7), in the order of catapult.warmup.exact_step:
  //   f_next = (1.0 - eta * lam + eta**2 * f**2 / n) * f
  //   lam_next = lam + (eta * f**2 / n) * (eta * lam - 4.0)
  function exactStep(f, lam, eta, n) {
    var f2 = f * f;
    var fNext = (1.0 - eta * lam + (eta * eta) * f2 / n) * f;
    var lamNext = lam + (eta * f2 / n) * (eta * lam - 4.0);
    return [fNext, lamNext];
  }

  // Iterate from (f0, λ0) for `steps` steps; stop at the first non-finite f, λ or f² (as
  // catapult.warmup.simulate freezes a run) and measure what classify, steps_to_converge and
  // peak_loss measure in Python.
  function simulate(c, n, f0, steps) {
    var eta = c / LAM0, f = [f0], lam = [LAM0], divergedAt = -1;
    for (var t = 0; t < steps; t++) {
      var s = exactStep(f[t], lam[t], eta, n);
      if (!(isFinite(s[0]) && isFinite(s[1]) && isFinite(s[0] * s[0]))) {
        divergedAt = t + 1;
        break;
      }
      f.push(s[0]);
      lam.push(s[1]);
    }
    var loss = f.map(function (x) { return 0.5 * (x * x); });
    var peak = 0, peakAt = 0, converge = -1, rose = false;
    for (var k = 0; k < loss.length; k++) {
      if (loss[k] > peak || k === 0) { peak = loss[k]; peakAt = k; }
      if (k > 0 && loss[k] > loss[0]) rose = true;
      if (converge < 0 && loss[k] < TOL) converge = k;
    }
    var phase;
    if (divergedAt >= 0) phase = "divergent";
    else if (!(loss[steps] < TOL)) phase = "unconverged";
    else phase = rose ? "catapult" : "lazy";
    var last = f.length - 1;
    return {
      c: c, n: n, f0: f0, lam0: LAM0, eta: eta, steps: steps, f: f, lam: lam, loss: loss,
      phase: phase, diverged_at: divergedAt, steps_to_converge: converge, peak_loss: peak,
      peak_step: peakAt, final_f: f[last], final_lam: lam[last], final_eta_lam: eta * lam[last],
      lam_shift: lam[last] - LAM0, last_step: last,
    };
  }

  // ------------------------------------------------------------------ drawing

  function el(name, attrs, parent, text) {
    var node = document.createElementNS(SVG, name);
    for (var a in attrs) node.setAttribute(a, attrs[a]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function niceTicks(lo, hi, count) {
    var span = hi - lo, raw = span / Math.max(count, 1), mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = mag * ([1, 2, 2.5, 5, 10].find(function (m) { return m * mag >= raw; }) || 10);
    var ticks = [];
    for (var v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * span; v += step) ticks.push(+v.toPrecision(12));
    return ticks;
  }

  function fmtTick(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    return a >= 1e4 || a < 1e-3 ? v.toExponential(0).replace("e+", "e") : String(+v.toPrecision(6));
  }

  function superscript(k) {
    var sup = {"-": "\u207b", 0: "\u2070", 1: "\u00b9", 2: "\u00b2", 3: "\u00b3", 4: "\u2074",
               5: "\u2075", 6: "\u2076", 7: "\u2077", 8: "\u2078", 9: "\u2079"};
    return "10" + String(k).split("").map(function (ch) { return sup[ch]; }).join("");
  }

  // One panel: axes with ticks and labels, a clipped polyline, optional horizontal guide lines.
  // y values are plotted as given (log10 of the loss for a log axis).
  function panel(svg, opts) {
    var W = 340, H = 230, L = 54, R = 10, T = 22, B = 40;
    var pw = W - L - R, ph = H - T - B, id = "warmup-explorer-clip-" + (++serial);
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", opts.title);
    var X = function (x) { return L + (x - opts.x0) / (opts.x1 - opts.x0) * pw; };
    var Y = function (y) { return T + ph - (y - opts.y0) / (opts.y1 - opts.y0) * ph; };
    el("rect", {x: L, y: T, width: pw, height: ph}, el("clipPath", {id: id}, el("defs", {}, svg)));
    el("text", {x: L, y: 14, "class": "warmup-explorer-title"}, svg, opts.title);
    var axes = el("g", {"class": "warmup-explorer-axes"}, svg);
    el("rect", {x: L, y: T, width: pw, height: ph, fill: "none"}, axes);
    niceTicks(opts.x0, opts.x1, 5).forEach(function (v) {
      el("line", {x1: X(v), x2: X(v), y1: T + ph, y2: T + ph + 4}, axes);
      el("text", {x: X(v), y: T + ph + 15, "text-anchor": "middle"}, axes, fmtTick(v));
    });
    opts.yticks.forEach(function (v) {
      el("line", {x1: L - 4, x2: L, y1: Y(v), y2: Y(v)}, axes);
      el("text", {x: L - 6, y: Y(v) + 3.5, "text-anchor": "end"}, axes, opts.ylog ? superscript(v) : fmtTick(v));
    });
    el("text", {x: L + pw / 2, y: H - 6, "text-anchor": "middle"}, axes, opts.xlabel);
    el("text", {x: 12, y: T + ph / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (T + ph / 2) + ")"},
       axes, opts.ylabel);
    var plot = el("g", {"clip-path": "url(#" + id + ")"}, svg);
    (opts.guides || []).forEach(function (g) {
      el("line", {x1: L, x2: L + pw, y1: Y(g.y), y2: Y(g.y), "class": "warmup-explorer-guide"}, plot);
      el("text", {x: L + pw - 3, y: Y(g.y) - 3, "text-anchor": "end", "class": "warmup-explorer-guide-label"},
         plot, g.label);
    });
    var pts = [];
    for (var i = 0; i < opts.xs.length; i++)
      if (isFinite(opts.ys[i])) pts.push(X(opts.xs[i]).toFixed(2) + "," + Y(Math.max(Math.min(opts.ys[i], opts.y1 + 1e3), opts.y0 - 1e3)).toFixed(2));
    el("polyline", {points: pts.join(" "), fill: "none", stroke: opts.color, "stroke-width": 1.6,
                    "class": "warmup-explorer-line"}, plot);
    if (opts.xs.length <= 80)
      pts.forEach(function (p) {
        var xy = p.split(",");
        el("circle", {cx: xy[0], cy: xy[1], r: 1.8, fill: opts.color}, plot);
      });
  }

  function draw(box, run) {
    // steps shown: the whole run up to its divergence, or a bit beyond convergence
    var shown = run.phase === "divergent" ? run.last_step
      : run.steps_to_converge >= 0 ? Math.min(run.steps, Math.max(10, Math.ceil(1.5 * run.steps_to_converge)))
      : run.steps;
    var xs = [], logL = [], el_ = [];
    for (var t = 0; t <= shown && t < run.f.length; t++) {
      xs.push(t * run.eta);
      logL.push(run.loss[t] > 0 ? Math.log10(run.loss[t]) : -Infinity);
      el_.push(run.eta * run.lam[t]);
    }
    var finite = logL.filter(isFinite);
    var top = Math.max(0, Math.ceil(Math.max.apply(null, finite.concat([-8]))));
    var bottom = Math.min(-8, Math.floor(Math.min.apply(null, finite.concat([0]))));
    bottom = Math.max(bottom, -30);
    var every = Math.max(1, Math.ceil((top - bottom) / 6)), yt = [];
    for (var k = top; k >= bottom; k -= every) yt.push(k);
    var x1 = Math.max(shown, 1) * run.eta, color = COLORS[run.phase];
    box.textContent = "";
    var svgL = el("svg", {"class": "warmup-explorer-plot", "data-panel": "loss"}, box);
    panel(svgL, {title: "loss (log scale)", xlabel: "physical time t\u00b7\u03b7", ylabel: "L = f\u00b2/2",
                 x0: 0, x1: x1, y0: bottom, y1: top, ylog: true, yticks: yt, xs: xs, ys: logL, color: color,
                 guides: [{y: Math.log10(TOL), label: "L = 10\u207b\u2076 (converged)"}]});
    var hi = Math.max(4.5, Math.min(12, 1.08 * Math.max.apply(null, el_.filter(isFinite))));
    var svgE = el("svg", {"class": "warmup-explorer-plot", "data-panel": "curvature"}, box);
    panel(svgE, {title: "curvature \u03b7\u03bb", xlabel: "physical time t\u00b7\u03b7", ylabel: "\u03b7\u03bb",
                 x0: 0, x1: x1, y0: 0, y1: hi, ylog: false, yticks: niceTicks(0, hi, 5), xs: xs, ys: el_,
                 color: color, guides: [{y: C_CRIT, label: "\u03b7\u03bb = 2 (\u03b7 = \u03b7_crit)"},
                                        {y: C_MAX, label: "\u03b7\u03bb = 4 (\u03b7 = \u03b7_max)"}]});
  }

  // ------------------------------------------------------------------ the widget

  function fmt(v, digits) {
    if (!isFinite(v)) return String(v);
    var a = Math.abs(v);
    return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(digits - 1) : String(+v.toPrecision(digits));
  }

  function slider(form, label, opts) {
    var row = document.createElement("label");
    row.className = "warmup-explorer-control";
    var name = document.createElement("span");
    name.className = "warmup-explorer-name";
    name.textContent = label;
    var input = document.createElement("input");
    input.type = "range";
    input.name = opts.name;
    input.min = opts.min;
    input.max = opts.max;
    input.step = opts.step;
    input.value = opts.value;
    var out = document.createElement("output");
    row.appendChild(name);
    row.appendChild(input);
    row.appendChild(out);
    form.appendChild(row);
    return {input: input, out: out};
  }

  // The phase bar under the ηλ0 slider: lazy up to η_crit, catapult up to η_max, then divergent.
  function phaseBar(form, min, max) {
    var bar = document.createElement("div");
    bar.className = "warmup-explorer-phasebar";
    [["lazy", min, C_CRIT, "lazy"], ["catapult", C_CRIT, C_MAX, "catapult"], ["divergent", C_MAX, max, "div."]]
      .forEach(function (p) {
        var seg = document.createElement("span");
        seg.style.flexGrow = String(p[2] - p[1]);
        seg.style.background = COLORS[p[0]];
        seg.textContent = p[3];
        seg.title = p[0] + " phase: " + p[1] + " < \u03b7\u03bb\u2080 < " + p[2];
        bar.appendChild(seg);
      });
    var marks = document.createElement("div");
    marks.className = "warmup-explorer-marks";
    [[C_CRIT, "\u03b7_crit"], [C_MAX, "\u03b7_max"]].forEach(function (m) {
      var s = document.createElement("span");
      s.style.left = (100 * (m[0] - min) / (max - min)) + "%";
      s.textContent = m[0] === C_CRIT ? "\u2191" + m[1] : m[1] + "\u2191";
      s.title = m[1] + ": \u03b7\u03bb\u2080 = " + m[0];
      marks.appendChild(s);
    });
    form.appendChild(bar);
    form.appendChild(marks);
  }

  function readout(list, key, label) {
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    dd.className = "warmup-explorer-value";
    dd.setAttribute("data-key", key);
    var pair = document.createElement("div");  // a <div> per term keeps each label with its value
    pair.appendChild(dt);
    pair.appendChild(dd);
    list.appendChild(pair);
    return dd;
  }

  function setValue(dd, value, text) {
    dd.setAttribute("data-value", String(value));  // shortest round-trip form: full float64 precision
    dd.textContent = text;
  }

  function setup(root) {
    if (root.getAttribute("data-ready")) return;
    root.setAttribute("data-ready", "true");
    var num = function (name, fallback) {
      var v = parseFloat(root.getAttribute("data-" + name));
      return isFinite(v) ? v : fallback;
    };
    var steps = Math.max(1, Math.round(num("steps", 500)));
    var form = document.createElement("form");
    form.className = "warmup-explorer-controls";
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    var c = slider(form, "learning rate \u03b7\u03bb\u2080", {name: "c", min: 0.1, max: 4.5, step: 0.01, value: num("c", 2.5)});
    phaseBar(form, 0.1, 4.5);
    var n = slider(form, "width n (log scale)", {name: "log10n", min: 1, max: 6, step: 0.05,
                                               value: Math.log10(num("n", 1000))});
    var f0 = slider(form, "initial output f\u2080", {name: "f0", min: -3, max: 3, step: 0.05, value: num("f0", 1)});
    var note = document.createElement("p");
    note.className = "warmup-explorer-note";
    note.textContent = "\u03bb\u2080 = 1 (so \u03b7 = \u03b7\u03bb\u2080); " + steps +
      " steps of eqs. 6\u20137 in float64; converged when L < 10\u207b\u2076; the plots end soon after convergence.";
    var phase = document.createElement("p");
    phase.className = "warmup-explorer-phase";
    phase.setAttribute("aria-live", "polite");
    var plots = document.createElement("div");
    plots.className = "warmup-explorer-plots";
    var list = document.createElement("dl");
    list.className = "warmup-explorer-readouts";
    var dd = {
      phase: readout(list, "phase", "phase"),
      final_eta_lam: readout(list, "final_eta_lam", "final \u03b7\u03bb"),
      final_lam: readout(list, "final_lam", "final \u03bb"),
      final_f: readout(list, "final_f", "final f"),
      lam_shift: readout(list, "lam_shift", "\u03bb \u2212 \u03bb\u2080"),
      peak_loss: readout(list, "peak_loss", "peak loss"),
      steps_to_converge: readout(list, "steps_to_converge", "steps to L < 10\u207b\u2076"),
      diverged_at: readout(list, "diverged_at", "diverged at step"),
      c: readout(list, "c", "\u03b7\u03bb\u2080"),
      n: readout(list, "n", "n"),
      f0: readout(list, "f0", "f\u2080"),
    };
    root.textContent = "";
    root.appendChild(form);
    root.appendChild(note);
    root.appendChild(phase);
    root.appendChild(plots);
    root.appendChild(list);

    function update() {
      var cv = parseFloat(c.input.value), nv = Math.round(Math.pow(10, parseFloat(n.input.value)));
      var fv = parseFloat(f0.input.value);
      c.out.textContent = cv.toFixed(2);
      n.out.textContent = nv >= 1e4 ? nv.toExponential(2).replace("e+", "e") : String(nv);
      f0.out.textContent = fv.toFixed(2);
      var run = simulate(cv, nv, fv, steps);
      root.warmupExplorerRun = run;  // the numbers the plots are drawn from, for tests and the curious
      root.setAttribute("data-phase", run.phase);
      draw(plots, run);
      var why = {
        lazy: "converged without the loss ever rising; \u03bb moved by only " + fmt(run.lam_shift, 3) +
          " (O(1/n): n\u00b7|\u0394\u03bb| = " + fmt(nv * Math.abs(run.lam_shift), 3) + ")",
        catapult: "the loss rose to " + fmt(run.peak_loss, 3) + " (step " + run.peak_step +
          "), \u03b7\u03bb fell from " + fmt(cv, 3) + " to " + fmt(run.final_eta_lam, 4) +
          " < 2, then the run converged",
        divergent: "f\u00b2 overflowed float64 at step " + run.diverged_at + " (the numbers below are the last finite step)",
        unconverged: "not converged after " + steps + " steps (L = " + fmt(run.loss[steps], 3) + ")",
      }[run.phase];
      phase.innerHTML = "";
      var b = document.createElement("strong");
      b.textContent = run.phase;
      b.style.color = COLORS[run.phase];
      phase.appendChild(b);
      phase.appendChild(document.createTextNode(": " + why + "."));
      setValue(dd.phase, run.phase, run.phase);
      ["final_eta_lam", "final_lam", "final_f", "lam_shift", "peak_loss"].forEach(function (k) {
        setValue(dd[k], run[k], fmt(run[k], 5));
      });
      setValue(dd.steps_to_converge, run.steps_to_converge, run.steps_to_converge < 0 ? "\u2014" : String(run.steps_to_converge));
      setValue(dd.diverged_at, run.diverged_at, run.diverged_at < 0 ? "\u2014" : String(run.diverged_at));
      setValue(dd.c, cv, String(cv));
      setValue(dd.n, nv, String(nv));
      setValue(dd.f0, fv, String(fv));
    }
    [c, n, f0].forEach(function (s) {
      s.input.addEventListener("input", update);
      s.input.addEventListener("change", update);
    });
    update();
  }

  function init() {
    var roots = document.querySelectorAll("div.warmup-explorer");
    for (var i = 0; i < roots.length; i++) setup(roots[i]);
  }

  window.catapultWarmupExplorer = {exactStep: exactStep, simulate: simulate, init: init};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
