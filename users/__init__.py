"""What belongs to one user beyond a single command: settings, local time, quiet hours.

Pure domain (no threads, no I/O): imports only ``core`` and ``messages``. ``chat`` turns these
values into text, ``actors`` and ``storage`` use them to decide when to notify and what to
store. Times are epoch seconds in and out; a user's time zone is an IANA name
(``zoneinfo``, with the ``tzdata`` package as the database where the system has none).
"""
