/* callsift SIP ladder: select an arrow to see its raw message in the docked pane, up/down (or
   j/k, Home, End) move through the messages, shift-click (or ctrl/cmd-click) a second arrow to
   see the line diff of the two, Escape drops the second one, #mN in the URL selects message N on
   load; e / E jump to the next / previous error response (4xx-6xx), r / R to the next /
   previous retransmission; the column headers stay in view while the ladder scrolls. Keys act while the focus is
   in the ladder (a click on an arrow puts it there).
   Vanilla JS, no build step; the page holds the markup of gui/ladder/page.py:ladder_fragment.
   Everything shown is set with textContent: message text is never parsed as HTML. */
(function () {
  "use strict";

  var MAX_DIFF_CELLS = 4000000;

  function lines(text) {
    return (text || "").replace(/\r\n/g, "\n").replace(/\n$/, "").split("\n");
  }

  /* Line diff by longest common subsequence: [[" ", line], ["-", line], ["+", line]...]. */
  function diffLines(a, b) {
    var n = a.length, m = b.length, i, j, out = [];
    if (n * m > MAX_DIFF_CELLS) {
      a.forEach(function (l) { out.push(["-", l]); });
      b.forEach(function (l) { out.push(["+", l]); });
      return out;
    }
    var w = m + 1, lcs = new Uint32Array((n + 1) * w);
    for (i = n - 1; i >= 0; i--) {
      for (j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1
          : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    i = 0; j = 0;
    while (i < n && j < m) {
      if (a[i] === b[j]) { out.push([" ", a[i]]); i++; j++; }
      else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) { out.push(["-", a[i]]); i++; }
      else { out.push(["+", b[j]]); j++; }
    }
    for (; i < n; i++) { out.push(["-", a[i]]); }
    for (; j < m; j++) { out.push(["+", b[j]]); }
    return out;
  }

  function span(cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }

  /* One line of a SIP message: the start line bold, a header name apart from its value. */
  function sipLine(line, first) {
    var frag = document.createDocumentFragment();
    var colon = line.indexOf(":");
    if (first) {
      frag.appendChild(span("sip-start", line));
    } else if (colon > 0 && /^[A-Za-z][A-Za-z0-9!%'*+.^_`|~-]*\s*$/.test(line.slice(0, colon))) {
      frag.appendChild(span("sip-hname", line.slice(0, colon + 1)));
      frag.appendChild(document.createTextNode(line.slice(colon + 1)));
    } else {
      frag.appendChild(document.createTextNode(line));
    }
    frag.appendChild(document.createTextNode("\n"));
    return frag;
  }

  function Ladder(root) {
    var data = JSON.parse(root.querySelector("script.ladder-data").textContent);
    this.root = root;
    this.messages = data.messages;
    this.svg = root.querySelector("svg.ladder");
    this.arrows = this.svg ? Array.prototype.slice.call(this.svg.querySelectorAll(".msg")) : [];
    this.title = root.querySelector(".ladder-pane-title");
    this.raw = root.querySelector(".ladder-raw");
    this.copy = root.querySelector(".ladder-copy");
    this.current = -1;
    this.other = -1;
    var self = this;
    this.arrows.forEach(function (g, i) {
      g.addEventListener("click", function (ev) {
        if ((ev.shiftKey || ev.ctrlKey || ev.metaKey) && self.current >= 0 && self.current !== i) {
          self.select(self.current, i);
        } else {
          self.select(i, -1);
        }
      });
    });
    if (this.copy) {
      this.copy.addEventListener("click", function () { self.copyRaw(); });
    }
    /* the column headers stay in view while the messages scroll under them */
    var scroller = root.querySelector(".ladder-scroll");
    var heads = this.svg ? this.svg.querySelector("g.heads") : null;
    this.scroller = scroller;
    this.heads = heads;
    if (scroller && heads) {
      scroller.addEventListener("scroll", function () { self.pin(); }, { passive: true });
    }
  }

  Ladder.prototype.text = function (i) {
    var m = this.messages[i];
    return m.raw !== null && m.raw !== undefined ? m.raw : m.summary + "\n(raw text not loaded)";
  };

  Ladder.prototype.select = function (i, other) {
    if (i < 0 || i >= this.arrows.length) { return; }
    var prev = this.root.querySelectorAll(".msg.sel, .msg.sel2");
    Array.prototype.forEach.call(prev, function (g) {
      g.classList.remove("sel", "sel2");
      g.removeAttribute("aria-current");
    });
    this.current = i;
    this.other = other;
    var g = this.arrows[i];
    g.classList.add("sel");
    g.setAttribute("aria-current", "true");
    if (other >= 0) { this.arrows[other].classList.add("sel2"); }
    if (g.focus) { g.focus({ preventScroll: true }); }
    if (g.scrollIntoView) { g.scrollIntoView({ block: "nearest", inline: "nearest" }); }
    this.unhide(g);
    if (history.replaceState) { history.replaceState(null, "", "#m" + this.messages[i].n); }
    this.show();
  };

  /* A message scrolled to the top edge would sit under the headers kept in view: scroll it
     out from under them. */
  Ladder.prototype.unhide = function (g) {
    if (!this.scroller || !this.heads || !g.getBoundingClientRect) { return; }
    var under = this.scroller.getBoundingClientRect().top + this.heads.getBBox().height;
    var top = g.getBoundingClientRect().top;
    if (top < under) { this.scroller.scrollTop -= under - top; }
    this.pin();
  };

  /* the headers follow the scroll at once (the scroll event comes a frame later) */
  Ladder.prototype.pin = function () {
    if (this.scroller && this.heads) {
      this.heads.setAttribute("transform", "translate(0," + this.scroller.scrollTop + ")");
    }
  };

  Ladder.prototype.show = function () {
    var raw = this.raw, a = this.messages[this.current];
    while (raw.firstChild) { raw.removeChild(raw.firstChild); }
    raw.classList.toggle("diff", this.other >= 0);
    if (this.other < 0) {
      this.title.textContent = a.title;
      lines(this.text(this.current)).forEach(function (l, k) { raw.appendChild(sipLine(l, k === 0)); });
    } else {
      var b = this.messages[this.other];
      this.title.textContent = "Diff #" + a.n + " → #" + b.n + " (− only in #" + a.n + ", + only in #" + b.n + ")";
      diffLines(lines(this.text(this.current)), lines(this.text(this.other))).forEach(function (d) {
        var cls = d[0] === "-" ? "del" : d[0] === "+" ? "ins" : "same";
        raw.appendChild(span("diff-" + cls, d[0] + " " + d[1] + "\n"));
      });
    }
    if (this.copy) { this.copy.hidden = false; }
  };

  Ladder.prototype.copyRaw = function () {
    if (this.current < 0 || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(this.raw.textContent);
  };

  Ladder.prototype.move = function (step) {
    var next = this.current < 0 ? (step > 0 ? 0 : this.arrows.length - 1) : this.current + step;
    this.select(Math.max(0, Math.min(this.arrows.length - 1, next)), -1);
  };

  /* the next (step 1) or previous (-1) message matching a selector, wrapping around */
  Ladder.prototype.next = function (selector, step) {
    var n = this.arrows.length;
    for (var k = 1; k <= n; k++) {
      var i = (((this.current < 0 ? (step > 0 ? -1 : 0) : this.current) + step * k) % n + n) % n;
      if (this.arrows[i].matches(selector)) { this.select(i, -1); return; }
    }
  };

  Ladder.prototype.fromHash = function () {
    var m = /^#m(\d+)$/.exec(location.hash);
    if (!m) { return false; }
    var n = parseInt(m[1], 10);
    for (var i = 0; i < this.messages.length; i++) {
      if (this.messages[i].n === n) { this.select(i, -1); return true; }
    }
    return false;
  };

  /* Keys act on the ladder that holds the focus (its SVG or a message): up/down elsewhere
     still scroll the page, and the pane's text scrolls with them as any text does. */
  Ladder.prototype.key = function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || !this.arrows.length) { return; }
    if (ev.key === "ArrowDown" || ev.key === "j") { this.move(1); }
    else if (ev.key === "ArrowUp" || ev.key === "k") { this.move(-1); }
    else if (ev.key === "Home") { this.select(0, -1); }
    else if (ev.key === "End") { this.select(this.arrows.length - 1, -1); }
    else if (ev.key === "Escape" && this.other >= 0) { this.select(this.current, -1); }
    else if (ev.key === "e" || ev.key === "E") { this.next(".s4xx, .s5xx, .s6xx", ev.key === "e" ? 1 : -1); }
    else if (ev.key === "r" || ev.key === "R") { this.next(".retrans", ev.key === "r" ? 1 : -1); }
    else { return; }
    ev.preventDefault();
  };

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-ladder]"), function (root) {
      var ladder = new Ladder(root);
      var scroller = root.querySelector(".ladder-scroll") || root;
      scroller.addEventListener("keydown", function (ev) { ladder.key(ev); });
      window.addEventListener("hashchange", function () { ladder.fromHash(); });
      ladder.fromHash();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
