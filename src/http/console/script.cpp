#include "http/console/script.hpp"

namespace stockwatch::console {

namespace {

constexpr std::string_view kScript = R"JS("use strict";
// stockwatch console: drag and drop and upload progress (docs/console.md).
(function () {
  function setUp() {
    var form = document.querySelector("form[data-upload]");
    if (!form || !window.FormData || !window.XMLHttpRequest) return;
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector(".drop");
    var chosen = form.querySelector(".chosen");
    var box = form.querySelector(".progress");
    var bar = box.querySelector("progress");
    var line = box.querySelector("p");
    var button = form.querySelector("button[type=submit]");
    var dropped = null;  // files dropped when the input cannot hold them

    function files() {
      return dropped || input.files;
    }
    function showChosen() {
      chosen.textContent = "";
      var list = files();
      for (var i = 0; list && i < list.length; i++) {
        var li = document.createElement("li");
        li.textContent = list[i].name;
        chosen.appendChild(li);
      }
    }
    zone.hidden = false;
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (e) {
        e.preventDefault();
        zone.classList.add("over");
      });
    });
    zone.addEventListener("dragleave", function () {
      zone.classList.remove("over");
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      dropped = null;
      try {
        input.files = e.dataTransfer.files;
      } catch (err) {
        dropped = e.dataTransfer.files;
      }
      if (input.files !== e.dataTransfer.files && input.files.length !== e.dataTransfer.files.length) {
        dropped = e.dataTransfer.files;
      }
      if (dropped) input.required = false;
      showChosen();
    });
    input.addEventListener("change", function () {
      dropped = null;
      input.required = true;
      showChosen();
    });

    form.addEventListener("submit", function (e) {
      var list = files();
      if (!list || !list.length) return;  // the browser says what is missing
      e.preventDefault();
      var data = new FormData(form);
      if (dropped) {
        data.delete(input.name);
        for (var i = 0; i < dropped.length; i++) data.append(input.name, dropped[i], dropped[i].name);
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      box.hidden = false;
      button.disabled = true;
      bar.max = 100;
      bar.value = 0;
      line.textContent = form.dataset.sending.replace("{percent}", "0");
      xhr.upload.addEventListener("progress", function (p) {
        if (!p.lengthComputable) return;
        var percent = Math.floor((p.loaded * 100) / p.total);
        bar.value = percent;
        line.textContent = form.dataset.sending.replace("{percent}", String(percent));
        document.documentElement.dataset.uploadSent = String(p.loaded);
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value");
        line.textContent = form.dataset.waiting;
      });
      xhr.addEventListener("load", function () {
        var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        if (!page.body || !page.querySelector("main")) {
          failed();
          return;
        }
        document.title = page.title;
        document.body.replaceWith(document.adoptNode(page.body));
        setUp();
        window.scrollTo(0, 0);
      });
      function failed() {
        bar.value = 0;
        line.textContent = form.dataset.failed;
        button.disabled = false;
      }
      xhr.addEventListener("error", failed);
      xhr.addEventListener("abort", failed);
      xhr.send(data);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
)JS";

}  // namespace

std::string_view console_script() { return kScript; }

}  // namespace stockwatch::console
