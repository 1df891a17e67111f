/* Registry forms: small conveniences on top of pages that work without script. */
(function () {
  "use strict";

  // The time zone follows the country until the person types their own.
  var zonesData = document.getElementById("country-timezones");
  var country = document.getElementById("id_country");
  var zone = document.getElementById("id_timezone");
  if (zonesData && country && zone) {
    var zones = JSON.parse(zonesData.textContent);
    var suggested = zones[country.value] || "";
    country.addEventListener("change", function () {
      if (!zone.value || zone.value === suggested) {
        suggested = zones[country.value] || "";
        zone.value = suggested;
      }
    });
  }

  // A search box over long lists of skills.
  Array.prototype.forEach.call(document.querySelectorAll(".skill-filter"), function (input) {
    var box = document.getElementById(input.getAttribute("data-target"));
    if (!box) { return; }
    input.hidden = false;
    input.addEventListener("input", function () {
      var wanted = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(box.querySelectorAll(".skill-group"), function (group) {
        var shown = 0;
        Array.prototype.forEach.call(group.querySelectorAll(".option"), function (option) {
          var match = !wanted || option.textContent.toLowerCase().indexOf(wanted) !== -1;
          option.hidden = !match;
          if (match) { shown += 1; }
        });
        group.hidden = shown === 0;
      });
    });
  });
})();

(function () {
  "use strict";
  // An offer's details show once its kind of engagement is ticked (always, when they hold an error).
  Array.prototype.forEach.call(document.querySelectorAll(".offer"), function (offer) {
    var box = offer.querySelector("input[type=checkbox][name^=offer_]");
    var details = offer.querySelector(".offer-details");
    if (!box || !details) { return; }
    function sync() { details.hidden = !box.checked && !details.querySelector(".has-error"); }
    box.setAttribute("aria-controls", details.id);
    box.addEventListener("change", sync);
    sync();
  });
})();
