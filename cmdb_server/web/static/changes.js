// The new-change form's target picker: "Add" on a search result puts the CI in the chosen
// list (a hidden input carrying its uid, posted with the form); "Remove" takes it out.
// Buttons, so the keyboard works; focus goes back to the search box.
(function () {
  "use strict";
  function chosenList() { return document.getElementById("chosen"); }
  function refreshEmpty() {
    var empty = document.getElementById("no-target");
    if (empty) { empty.hidden = chosenList().children.length > 0; }
  }
  function add(button) {
    var uid = button.dataset.uid;
    if (chosenList().querySelector('li[data-uid="' + CSS.escape(uid) + '"]')) { return; }
    var item = document.createElement("li");
    item.dataset.uid = uid;
    var hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = "target"; hidden.value = uid;
    var link = document.createElement("a");
    link.href = "/ci/" + encodeURIComponent(uid); link.textContent = button.dataset.name;
    var kind = document.createElement("span");
    kind.className = "count"; kind.textContent = " " + button.dataset.class + " ";
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "remove-target"; remove.textContent = "Remove";
    remove.setAttribute("aria-label", "Remove " + button.dataset.name);
    item.append(hidden, link, kind, remove);
    chosenList().append(item);
    button.disabled = true; button.textContent = "Added";
    refreshEmpty();
  }
  function remove(button) {
    var item = button.closest("li");
    var uid = item.dataset.uid;
    item.remove();
    document.querySelectorAll(".add-target").forEach(function (b) {
      if (b.dataset.uid === uid) { b.disabled = false; b.textContent = "Add"; }
    });
    refreshEmpty();
    document.getElementById("target-q").focus();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button || !chosenList()) { return; }
    if (button.classList.contains("add-target")) { add(button); }
    else if (button.classList.contains("remove-target")) { remove(button); }
  });
  // Enter in the search box searches at once rather than posting the whole form.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.id === "target-q") {
      event.preventDefault();
      if (window.htmx) { window.htmx.trigger(event.target, "search"); }
    }
  });
})();
