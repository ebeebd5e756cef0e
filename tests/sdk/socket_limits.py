"""drawbridge's streaming API with a bare socket.io client (python-socketio 4.x, the SDK's
own transport) where the SDK would hide what is checked: a socket without a valid token gets a
processingError and is closed, an unknown request type gets a processingError rather than
silence, past `trade_subscription_accounts` (1 here, set by the harness's config) a
subscribe gets the TooManyRequestsError, and so does one past the subscribe rate
(`subscribe_rate` 1 per minute per deployed account); quotes past the streaming credits
(`streaming_per_account_10s` 20) get their subscription downgraded; a socket that subscribes
nothing in time, or floods, is sent a user message and closed, and so is one past the
connection rate from one address (`connection_rate` 4 per 100 s); a warning user message (the
third account of `accounts_per_user` 3) reaches the user's open socket. Environment: see
harness.py.
"""

import asyncio

import socketio
from harness import HOST, PORT, REGION, TOKEN, check, finish, rest


def new_account(name):
    provisioning = "mt-provisioning-api-v1"
    creds = rest("/users/current/provisioning-profiles/default/mt5-demo-accounts",
                 {"balance": 1000, "leverage": 100, "accountType": "USD", "name": name}, host=provisioning)
    created = rest("/users/current/accounts", {"login": creds["login"], "password": creds["password"],
                                               "server": creds["serverName"], "name": name}, host=provisioning)
    return created["id"]


async def open_socket(token):
    events = asyncio.Queue()
    client = socketio.AsyncClient(reconnection=False, ssl_verify=False)
    for name in ("response", "processingError", "synchronization", "userMessage"):
        client.on(name, (lambda n: lambda data: events.put_nowait((n, data)))(name))
    url = f"https://mt-client-api-v1.{REGION}-a.{HOST}:{PORT}?auth-token={token}&clientId=0.1&protocol=3"
    await client.connect(url, socketio_path="ws", transports=["websocket"])
    return client, events


PENDING = []


async def next_event(events, kind, request_id=None, packet=None):
    """The next event of `kind` (for `request_id`, or a synchronization packet of type
    `packet`), keeping the others for later calls."""
    def matches(item):
        name, data = item
        return (name == kind and (request_id is None or data.get("requestId") == request_id)
                and (packet is None or data.get("type") == packet))

    for item in PENDING:
        if matches(item):
            PENDING.remove(item)
            return item[1]
    while True:
        item = await asyncio.wait_for(events.get(), 10)
        if matches(item):
            return item[1]
        PENDING.append(item)


async def main():
    first, second = new_account("one"), new_account("two")

    bad, bad_events = await open_socket("not-a-token")
    err = await next_event(bad_events, "processingError")
    check("a bad token gets UnauthorizedError", err.get("error") == "UnauthorizedError", str(err))
    await asyncio.sleep(0.5)
    check("and its socket is closed", not bad.connected)

    client, events = await open_socket(TOKEN)
    await client.emit("request", {"type": "noSuchRequest", "accountId": first, "requestId": "r0"})
    err = await next_event(events, "processingError", "r0")
    check("an unknown request type is answered", err.get("error") == "ValidationError"
          and err["text"]["key"] == "streaming.request_unsupported", str(err))

    await client.emit("request", {"type": "synchronize", "accountId": first, "requestId": "r0s", "instanceIndex": 0})
    err = await next_event(events, "processingError", "r0s")
    check("synchronize before subscribe is refused", err["text"]["key"] == "streaming.not_subscribed", str(err))

    await client.emit("request", {"type": "getApiLimits", "accountId": first, "requestId": "l1", "limits": [110, 999]})
    limits = (await next_event(events, "response", "l1"))["apiLimits"]["limit_entries"]
    check("the API limits over the socket", limits[0]["limit"] == 110 and limits[0]["value"] == 20
          and limits[1] == {"limit": 999, "status_code": 104}, str(limits))

    await client.emit("request", {"type": "subscribe", "accountId": first, "requestId": "r1", "instanceIndex": 0})
    reply = await next_event(events, "response", "r1")
    check("subscribe is answered", reply.get("accountId") == first, str(reply))
    auth = await next_event(events, "synchronization")
    check("then authenticated", auth.get("type") == "authenticated" and auth.get("host")
          and auth.get("replicas") == 1, str(auth))

    await client.emit("request", {"type": "subscribe", "accountId": second, "requestId": "r2", "instanceIndex": 0})
    err = await next_event(events, "processingError", "r2")
    check("past the accounts per socket a subscribe is refused", err.get("error") == "TooManyRequestsError"
          and err["metadata"]["type"] == "LIMIT_ACCOUNT_SUBSCRIPTIONS_PER_SOCKET"
          and "recommendedRetryTime" in err["metadata"], str(err))

    await client.emit("request", {"type": "subscribeToMarketData", "accountId": first, "requestId": "m1",
                                  "instanceIndex": 0, "symbol": "NOPE", "subscriptions": [{"type": "quotes"}]})
    err = await next_event(events, "processingError", "m1")
    check("market data for an unknown symbol is refused", err.get("error") == "ValidationError", str(err))

    # The subscribe rate: 1 per minute per deployed account, and the user has 2.
    await client.emit("request", {"type": "subscribe", "accountId": first, "requestId": "r3", "instanceIndex": 1})
    await next_event(events, "response", "r3")
    await client.emit("request", {"type": "subscribe", "accountId": first, "requestId": "r4", "instanceIndex": 1})
    err = await next_event(events, "processingError", "r4")
    check("past the subscribe rate a subscribe is refused", err.get("error") == "TooManyRequestsError"
          and err["metadata"]["type"] == "LIMIT_SUBSCRIBE_REQUESTS_PER_USER"
          and err["text"]["key"] == "limit.terminal_synchronization", str(err))

    # Streaming credits (20 per 10 s here): quotes every 100 ms outrun them, and the
    # subscription is downgraded to a longer interval.
    await client.emit("request", {"type": "subscribeToMarketData", "accountId": first, "requestId": "m2",
                                  "instanceIndex": 0, "symbol": "EURUSD",
                                  "subscriptions": [{"type": "quotes", "intervalInMilliseconds": 100}]})
    await next_event(events, "response", "m2")
    for i in range(12):
        rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.1 + i / 10000, "ask": 1.1002 + i / 10000})
        await asyncio.sleep(0.15)
    down = await next_event(events, "synchronization", packet="downgradeSubscription")
    interval = (down.get("updates") or [{}])[0].get("intervalInMilliseconds", 0)
    check("over the streaming credits the subscription is downgraded", down.get("symbol") == "EURUSD"
          and interval > 100, str(down))
    stray = [d for n, d in PENDING if n == "synchronization" and d.get("type") == "authenticated"
             and d.get("instanceIndex") == 1]
    check("an instance a regular account does not run is answered, never authenticated", not stray,
          str(stray))

    await client.disconnect()

    # A socket that subscribes nothing within `unready_socket_close_secs` (2 here) is told
    # so and closed.
    idle, idle_events = await open_socket(TOKEN)
    note = await next_event(idle_events, "userMessage")
    await asyncio.sleep(0.5)
    check("an unready socket is told and closed", note["text"]["key"] == "connection.unready"
          and note["type"] == 1 and not idle.connected, str(note))

    # More than `client_messages_rate` (20 per 10 s here) messages: told and closed.
    noisy, noisy_events = await open_socket(TOKEN)
    # A user message queued for the user reaches its open sockets: the third account of
    # `accounts_per_user` (3 here) brings the warning at 99%.
    new_account("three")
    note = await next_event(noisy_events, "userMessage")
    check("a warning user message reaches the socket", note["text"]["key"] == "user.accounts_near_limit"
          and note["type"] == 2 and note["text"]["param"] == ["3", "3"], str(note))
    for i in range(25):
        await noisy.emit("request", {"type": "noSuchRequest", "accountId": first, "requestId": f"f{i}"})
    note = await next_event(noisy_events, "userMessage")
    await asyncio.sleep(0.5)
    check("a flooding socket is told and closed", note["text"]["key"] == "connection.flood"
          and not noisy.connected, str(note))

    # The fifth streaming connection from this address within 100 s is past `connection_rate`
    # (4 here): told and closed, even with a good token.
    fifth, fifth_events = await open_socket(TOKEN)
    note = await next_event(fifth_events, "userMessage")
    await asyncio.sleep(0.5)
    check("past the connection rate a socket is told and closed", note["text"]["key"] == "connection.rate"
          and note["type"] == 1 and not fifth.connected, str(note))
    finish()


asyncio.run(main())
