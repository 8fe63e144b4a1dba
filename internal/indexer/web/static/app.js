// meshbone marketplace: progressive enhancements only; every page works
// without script.
(function () {
  "use strict";
  var q = document.getElementById("q");
  // "/" focuses the search box, as in most search UIs.
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" && q && document.activeElement !== q && !/input|textarea/i.test(document.activeElement.tagName)) {
      e.preventDefault();
      q.focus();
      q.select();
    }
  });
  // Keep the filters of the current search when searching again from the
  // top bar (the facets are links, the box is a form).
  var form = document.querySelector("form.topsearch");
  if (form && location.pathname === "/") {
    var params = new URLSearchParams(location.search);
    ["domain", "tag", "sensitivity", "compliance", "state"].forEach(function (name) {
      params.getAll(name).forEach(function (v) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = v;
        form.appendChild(input);
      });
    });
  }
})();
