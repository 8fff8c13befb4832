"""A small program for the Longreach demo: it prices a few orders and prints a total."""

import time

ORDERS = [
    {"id": 1, "item": "tea", "qty": 3, "price": 2.5},
    {"id": 2, "item": "scones", "qty": 6, "price": 1.75},
    {"id": 3, "item": "jam", "qty": 1, "price": 4.0},
]


def line_total(order):
    subtotal = order["qty"] * order["price"]
    discount = 0.1 if order["qty"] >= 5 else 0.0
    return round(subtotal * (1 - discount), 2)


def main():
    total = 0.0
    for order in ORDERS:
        amount = line_total(order)
        total += amount
        print(f"order {order['id']}: {order['qty']} x {order['item']} = {amount:.2f}")
        time.sleep(0.05)
    print(f"total: {total:.2f}")


if __name__ == "__main__":
    main()
