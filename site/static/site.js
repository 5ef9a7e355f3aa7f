/* Leaderboard pages: sortable tables and plotly charts. Data comes from the page, never from a network request,
   so the site works opened from disk. Text is inserted with textContent only. */
(function () {
  "use strict";

  function cellValue(row, index, numeric) {
    const cell = row.cells[index];
    if (!cell) return null;
    const raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    if (raw === "" || raw === null) return null;
    if (!numeric) return raw.toLowerCase();
    const number = parseFloat(raw);
    return Number.isNaN(number) ? null : number;
  }

  function sortTable(table, index, direction) {
    const header = table.tHead.rows[0].cells[index];
    const numeric = header.getAttribute("data-sort") === "num";
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).map(function (row, position) {
      return { row: row, value: cellValue(row, index, numeric), position: position };
    });
    const sign = direction === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      // Missing values stay at the bottom whichever way the column is sorted.
      if (a.value === null && b.value === null) return a.position - b.position;
      if (a.value === null) return 1;
      if (b.value === null) return -1;
      if (a.value < b.value) return -sign;
      if (a.value > b.value) return sign;
      return a.position - b.position;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    Array.from(table.tHead.rows[0].cells).forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction);
  }

  function makeSortable(table) {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach(function (th, index) {
      if (!th.hasAttribute("data-sort")) return;
      th.classList.add("sort-header");
      th.tabIndex = 0;
      function activate(event) {
        if (event.target.closest("a")) return;
        const current = th.getAttribute("aria-sort");
        const numeric = th.getAttribute("data-sort") === "num";
        let next;
        if (current === "descending") next = "ascending";
        else if (current === "ascending") next = "descending";
        else next = numeric ? "descending" : "ascending";
        sortTable(table, index, next);
      }
      th.addEventListener("click", activate);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); activate(event); }
      });
    });
  }

  function pageData() {
    const element = document.getElementById("page-data");
    return element ? JSON.parse(element.textContent) : {};
  }

  function renderCharts(data) {
    const figures = data.figures || {};
    const targets = Array.from(document.querySelectorAll("[data-figure]"));
    if (!targets.length) return Promise.resolve();
    if (typeof Plotly === "undefined") {
      targets.forEach(function (el) { el.textContent = "Charts need static/plotly.min.js, which did not load."; });
      return Promise.resolve();
    }
    return Promise.all(targets.map(function (el) {
      const figure = figures[el.getAttribute("data-figure")];
      if (!figure) return Promise.resolve();
      return Plotly.newPlot(el, figure.data, figure.layout, { displaylogo: false, responsive: true });
    }));
  }

  window.harnessSite = {
    sortTable: sortTable,
    ready: function () {
      document.querySelectorAll("table.sortable").forEach(makeSortable);
      renderCharts(pageData()).then(function () { document.body.setAttribute("data-ready", "1"); });
    },
  };
})();
