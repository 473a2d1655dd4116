// Shows /version and follows the /events stream (the browser reconnects by itself after a deploy).
(function () {
  'use strict';

  function show(info) {
    var dl = document.getElementById('version');
    dl.textContent = '';
    Object.keys(info).forEach(function (key) {
      var dt = document.createElement('dt');
      var dd = document.createElement('dd');
      dt.textContent = key;
      dd.textContent = String(info[key]);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
  }

  fetch('/version')
    .then(function (r) { return r.json(); })
    .then(show)
    .catch(function (e) { show({ error: e.message }); });

  var status = document.getElementById('status');
  var tick = document.getElementById('tick');
  var events = new EventSource('/events');
  events.onopen = function () {
    status.textContent = 'open';
    status.className = 'open';
  };
  events.onmessage = function (e) {
    tick.textContent = e.data;
  };
  events.onerror = function () {
    status.textContent = 'reconnecting';
    status.className = 'error';
  };
}());
