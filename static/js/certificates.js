// The certificate request form (progressive enhancement): the period fields are disabled while
// a kind without a period is chosen (the server ignores them for those kinds anyway).
(function () {
  "use strict";
  var kind = document.querySelector("select[data-period-kind]");
  if (!kind) {
    return;
  }
  var fields = ["id_period_from", "id_period_to"].map(function (id) {
    return document.getElementById(id);
  }).filter(Boolean);
  function update() {
    var hasPeriod = kind.value === kind.getAttribute("data-period-kind");
    fields.forEach(function (input) {
      input.disabled = !hasPeriod;
      var field = input.closest(".field");
      if (field) {
        field.hidden = !hasPeriod;
      }
    });
  }
  kind.addEventListener("change", update);
  update();
})();
