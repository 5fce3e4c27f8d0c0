/**
 * The storefront's script, served as `GET /storefront.js`. Plain ES2020 for the browser, no
 * framework; it builds every piece of markup with `textContent`, never `innerHTML`.
 *
 * - "Recommended for you": a click on a link with `data-ticket` is reported with
 *   `navigator.sendBeacon(<beacon path>, '{"kind":"click","ticket":…}')` and the link is followed;
 *   the product page it opens is not tracked, so the click is sent once.
 * - "Add to cart": posts the item as JSON to `POST /cart/items` (tracked with `@TrackAddToCart()`)
 *   and keeps the answered line, with its price, in `localStorage` (the sample keeps no cart).
 * - "Place order": posts the cart to `POST /checkout` with a new order id, then empties it.
 */
export const STOREFRONT_SCRIPT = String.raw`'use strict';
(function () {
  var CART_KEY = 'nestjs-esales-sample.cart';
  var beaconPath = document.body.getAttribute('data-beacon-path');

  function readCart() {
    try {
      var lines = JSON.parse(localStorage.getItem(CART_KEY) || '[]');
      return Array.isArray(lines) ? lines : [];
    } catch (error) {
      return [];
    }
  }

  function writeCart(lines) {
    localStorage.setItem(CART_KEY, JSON.stringify(lines));
    showCount();
  }

  function showCount() {
    var count = readCart().reduce(function (sum, line) { return sum + line.quantity; }, 0);
    document.querySelectorAll('[data-cart-count]').forEach(function (element) {
      element.textContent = String(count);
    });
  }

  function money(amount) {
    return '\u00a3' + amount.toFixed(2);
  }

  function say(container, text, ok) {
    var status = container.querySelector('[data-status]');
    if (!status) return;
    status.textContent = text;
    status.className = 'status ' + (ok ? 'ok' : 'error');
  }

  /** POSTs JSON; resolves with the answered JSON, rejects with the error's message. */
  function postJson(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) {
          var message = answer && answer.message;
          throw new Error(Array.isArray(message) ? message.join('; ') : message || response.statusText);
        }
        return answer;
      });
    });
  }

  // Recommended for you: the beacon reports the click, the browser follows the link.
  document.querySelectorAll('a[data-ticket]').forEach(function (link) {
    link.addEventListener('click', function () {
      if (!beaconPath || !navigator.sendBeacon) return;
      var ticket = link.getAttribute('data-ticket');
      navigator.sendBeacon(beaconPath, JSON.stringify({ kind: 'click', ticket: ticket }));
    });
  });

  // Product page: add to cart through the tracked cart route.
  var addForm = document.querySelector('form[data-add-to-cart]');
  if (addForm) {
    addForm.addEventListener('submit', function (event) {
      event.preventDefault();
      var data = new FormData(addForm);
      var item = {
        productKey: addForm.getAttribute('data-product-key'),
        quantity: Number(data.get('quantity') || 1),
      };
      var variantKey = data.get('variantKey');
      if (variantKey) item.variantKey = variantKey;
      var ticket = addForm.getAttribute('data-ticket');
      if (ticket) item.ticket = ticket;
      postJson('/cart/items', item).then(
        function (line) {
          var lines = readCart();
          lines.push({
            productKey: line.productKey,
            variantKey: line.variantKey,
            name: line.name,
            quantity: line.quantity,
            sellingPrice: Number(addForm.getAttribute('data-price')),
          });
          writeCart(lines);
          say(addForm, 'Added ' + line.quantity + ' \u00d7 ' + line.name + ' to the cart.', true);
        },
        function (error) {
          say(addForm, 'Not added: ' + error.message, false);
        },
      );
    });
  }

  // Cart page: the stored lines, and the checkout.
  var cart = document.querySelector('[data-cart]');
  function showCart() {
    var lines = readCart();
    var body = cart.querySelector('[data-cart-lines]');
    body.replaceChildren();
    var total = 0;
    lines.forEach(function (line) {
      var row = document.createElement('tr');
      [line.name, line.variantKey || '\u2014', String(line.quantity), money(line.quantity * line.sellingPrice)]
        .forEach(function (text) {
          var cell = document.createElement('td');
          cell.textContent = text;
          row.appendChild(cell);
        });
      body.appendChild(row);
      total += line.quantity * line.sellingPrice;
    });
    cart.querySelector('[data-cart-total]').textContent = money(total);
    cart.querySelector('[data-cart-empty]').hidden = lines.length > 0;
    cart.querySelector('[data-checkout]').disabled = lines.length === 0;
  }
  if (cart) {
    showCart();
    var button = cart.querySelector('[data-checkout]');
    button.addEventListener('click', function () {
      var lines = readCart();
      if (lines.length === 0) return;
      button.disabled = true;
      var order = {
        orderId: 'o-' + crypto.randomUUID().slice(0, 8),
        lines: lines.map(function (line) {
          var paid = { productKey: line.productKey, quantity: line.quantity, sellingPrice: line.sellingPrice };
          if (line.variantKey) paid.variantKey = line.variantKey;
          return paid;
        }),
      };
      postJson('/checkout', order).then(
        function (result) {
          writeCart([]);
          showCart();
          say(cart, 'Order ' + result.orderId + ' placed: ' + money(result.total) + '.', true);
          cart.setAttribute('data-order-id', result.orderId);
        },
        function (error) {
          button.disabled = false;
          say(cart, 'Checkout failed: ' + error.message, false);
        },
      );
    });
  }

  showCount();
})();
`;

/** The storefront's stylesheet, served as `GET /storefront.css`. */
export const STOREFRONT_STYLES = `
:root { color-scheme: light; --ink: #1d232b; --muted: #5d6773; --line: #d9dee4; --accent: #0b6e4f; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f7f9; }
header.top { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; font-size: 18px; color: var(--accent); text-decoration: none; }
nav { display: flex; gap: 16px; }
nav a { color: var(--ink); }
form.account { margin-left: auto; display: flex; gap: 8px; align-items: center; font-size: 13px; }
form.account input { font: 12px ui-monospace, monospace; padding: 4px 6px; }
main { max-width: 960px; margin: 0 auto; padding: 8px 24px 24px; }
h1 { font-size: 24px; margin: 16px 0 4px; }
h2 { font-size: 17px; margin: 24px 0 2px; }
.lead, .how, .note, .variants { color: var(--muted); }
.how { margin: 0 0 8px; font-size: 13px; }
.cards { list-style: none; display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; padding: 0; margin: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
.card a { display: grid; grid-template-columns: 44px 1fr; grid-template-rows: auto auto; column-gap: 10px; color: inherit; text-decoration: none; }
.card a:hover .name { text-decoration: underline; }
.card .note { display: block; margin-top: 6px; font-size: 12px; }
.swatch { grid-row: span 2; display: grid; place-items: center; width: 44px; height: 44px; border-radius: 8px; background: #dcefe7; color: var(--accent); font-weight: 700; font-size: 20px; }
.swatch.big { width: 120px; height: 120px; font-size: 48px; }
.strip { grid-template-columns: repeat(3, 1fr); }
.name { font-weight: 600; }
.price { color: var(--accent); font-weight: 600; }
.variants { font-size: 13px; }
.variants a { margin-right: 8px; }
code { font: 12px ui-monospace, monospace; background: #eef1f4; padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
.product { display: flex; gap: 24px; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px; }
form.add { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; }
button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button[disabled] { opacity: 0.5; cursor: default; }
form.account button { padding: 3px 10px; }
.status { flex-basis: 100%; margin: 0; min-height: 1.4em; }
.status.ok { color: var(--accent); }
.status.error { color: #b3261e; }
table.lines { width: 100%; border-collapse: collapse; background: #fff; }
table.lines th, table.lines td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); }
footer { max-width: 960px; margin: 0 auto; padding: 0 24px 32px; font-size: 13px; color: var(--muted); }
.visitor { border-top: 1px solid var(--line); }
.visitor dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 8px 0; }
.visitor dt { font-family: ui-monospace, monospace; }
.visitor dd { margin: 0; }
`;
