"""Callback orders (обратный звонок), from the IVR and the website, executed by the controller.

- ``models``: orders and their transitions; ``lifecycle``: the allowed moves, as one table.
- ``service``: requests (one open order per number, idempotent), the lifecycle, claiming.
- ``queue``: the live queue and leases in Redis; ``ratelimit``: the website form's limits.
- ``routes`` / ``schemas``: ``/api/callbacks``, mounted by the console.
- ``handlers``: an attempt's AMI events -> its outcome (pure); ``dialer``: the asyncio loop
  in the controller that originates to an operator, then the customer
  (dialplans/extensions_callbacks.conf.j2); ``plugin``: how the controller builds it.
- ``settings``: ``HOTLINE_CALLBACK_*``.
"""
