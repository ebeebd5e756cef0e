"""The official MetaApi SDK's risk management client, unchanged, against drawbridge's risk
management API (risk-management-api-v1.<region>.<domain>): trackers, a drawdown breach seen
by get_tracker_events and by the tracker event listener's long poll, period statistics and
the equity chart. The breach is also pushed over the streaming API as a `synchronization`
packet of drawbridge's type `trackerEvent`: a bare socket.io client sees it, and the SDK's
own streaming connection, subscribed to the same account, ignores it without an error and
keeps its terminal state up to date. The sim API moves prices and time. Environment: see
harness.py.
"""

import asyncio
import logging

import socketio
from harness import DOMAIN, HOST, PORT, REGION, TOKEN, check, deployed_account, finish, rest
from metaapi_cloud_sdk import MetaApi, RiskManagement, TrackerEventListener


class Errors(logging.Handler):
    """Error records the SDK logs (a packet it failed to process, an event that failed)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


async def raw_socket(account_id):
    """A bare socket.io client subscribed to the account; its `synchronization` packets."""
    packets = asyncio.Queue()
    client = socketio.AsyncClient(reconnection=False, ssl_verify=False)
    client.on("synchronization", lambda data: packets.put_nowait(data))
    responses = asyncio.Queue()
    client.on("response", lambda data: responses.put_nowait(data))
    url = f"https://mt-client-api-v1.{REGION}-a.{HOST}:{PORT}?auth-token={TOKEN}&clientId=0.7&protocol=3"
    await client.connect(url, socketio_path="ws", transports=["websocket"])
    await client.emit("request", {"type": "subscribe", "accountId": account_id,
                                  "requestId": "raw-1", "instanceIndex": 0})
    answer = await asyncio.wait_for(responses.get(), 10)
    check("a bare socket subscribes", answer.get("requestId") == "raw-1", str(answer))
    return client, packets


async def next_packet(packets, kind):
    while True:
        packet = await asyncio.wait_for(packets.get(), 10)
        if packet.get("type") == kind:
            return packet


class Listener(TrackerEventListener):
    """Records events; while it handles the first, a second tracker is created that breaches
    at once, so its event is stored between two of the listener's polls."""

    def __init__(self, account_id, tracker_id, rm):
        super().__init__(account_id, tracker_id)
        self.rm = rm
        self.events = []
        self.errors = []
        self.second = None

    async def on_tracker_event(self, tracker_event):
        self.events.append(tracker_event)
        if len(self.events) == 1:
            created = await self.rm.create_tracker(self.account_id, {
                "name": "sdk-second", "period": "day", "absoluteDrawdownThreshold": 0.5})
            self.second = created["id"]

    async def on_error(self, error):
        self.errors.append(error)


async def eventually(name, condition, detail, seconds=5):
    for _ in range(seconds * 10):
        if condition():
            break
        await asyncio.sleep(0.1)
    check(name, condition(), detail())


async def main():
    api = MetaApi(TOKEN, {"domain": DOMAIN, "requestTimeout": 30, "retryOpts": {"retries": 1}})
    account = await deployed_account(api, "risk")
    acc = f"/users/current/accounts/{account.id}"
    rest("/sim/feed", {"paused": True})
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.1, "ask": 1.10002})

    risk = RiskManagement(TOKEN, {"domain": DOMAIN, "retryOpts": {"retries": 1}})
    rm = risk.risk_management_api
    try:
        await rm.get_trackers(account.id)
        check("refused before riskManagementApiEnabled", False)
    except Exception as err:
        check("refused before riskManagementApiEnabled",
              err.__class__.__name__ == "ForbiddenException", repr(err))
    await account.enable_risk_management_api()

    created = await rm.create_tracker(account.id, {
        "name": "sdk-daily", "period": "day", "absoluteDrawdownThreshold": 100})
    tracker_id = created["id"]
    check("create_tracker answers an id", isinstance(tracker_id, str) and tracker_id, str(created))
    try:
        await rm.create_tracker(account.id, {"name": "bad", "period": "fortnight"})
        check("an invalid tracker is a ValidationException", False)
    except Exception as err:
        check("an invalid tracker is a ValidationException",
              err.__class__.__name__ == "ValidationException", repr(err))
    trackers = await rm.get_trackers(account.id)
    check("get_trackers", [t["_id"] for t in trackers] == [tracker_id], str(trackers))
    tracker = await rm.get_tracker(account.id, tracker_id)
    check("get_tracker", tracker["name"] == "sdk-daily" and tracker["period"] == "day"
          and tracker["absoluteDrawdownThreshold"] == 100, str(tracker))
    await rm.update_tracker(account.id, tracker_id, {"name": "sdk daily"})
    by_name = await rm.get_tracker_by_name(account.id, "sdk daily")
    check("update_tracker and get_tracker_by_name", by_name["_id"] == tracker_id, str(by_name))

    # This SDK sends no previousSequenceNumber (nor any filter): its first poll starts from
    # the latest event, and each later one where the previous answer left it, so an event
    # stored between two polls is not lost (the second tracker's, below).
    listener = Listener(account.id, tracker_id, rm)
    listener_id = rm.add_tracker_event_listener(listener, account.id, tracker_id)

    # The SDK's streaming connection and a bare socket, both subscribed to the account.
    errors = Errors()
    logging.getLogger().addHandler(errors)
    connection = account.get_streaming_connection()
    await connection.connect()
    await connection.wait_synchronized({"timeoutInSeconds": 30})
    raw, packets = await raw_socket(account.id)
    await asyncio.sleep(1)

    bought = rest(f"{acc}/trade", {"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1})
    check("a 1-lot buy", bought.get("stringCode") == "TRADE_RETCODE_DONE", str(bought))
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.0985, "ask": 1.09852})
    equity = rest(f"{acc}/account-information")["equity"]

    events = []

    async def poll():
        events[:] = await rm.get_tracker_events(None, None, account.id, tracker_id)

    for _ in range(50):
        await poll()
        if events:
            break
        await asyncio.sleep(0.1)
    check("get_tracker_events has the breach", len(events) == 1, str(events))
    event = events[0]
    check("the event", event["trackerId"] == tracker_id and event["accountId"] == account.id
          and event["exceededThresholdType"] == "drawdown" and event["period"] == "day"
          and abs(event["absoluteDrawdown"] - (10000 - equity)) < 1e-6, str(event))
    check("its broker time is the trade server's", event["brokerTime"] == "2026-01-07 12:00:00.000",
          str(event))
    # (The listener's second tracker breaches at the same broker time: filtered out here.)
    ranged = await rm.get_tracker_events("2026-01-07 12:00:00.000", "2026-01-07 12:00:00.000",
                                         account.id, tracker_id)
    check("get_tracker_events by broker time range", ranged == events, str(ranged))
    later = await rm.get_tracker_events("2026-01-07 12:00:00.001")
    check("and outside it", later == [], str(later))

    await eventually("the listener received the event and the one stored between its polls",
                     lambda: len(listener.events) == 2, lambda: f"{listener.events} {listener.errors}")
    check("the listener's events are the stored ones, in order",
          [e["sequenceNumber"] for e in listener.events]
          == [event["sequenceNumber"], event["sequenceNumber"] + 1]
          and listener.events[1]["trackerId"] == listener.second, str(listener.events))
    rm.remove_tracker_event_listener(listener_id)
    await rm.delete_tracker(account.id, listener.second)

    pushed = await next_packet(packets, "trackerEvent")
    check("the breach is pushed to the subscribed socket as it is stored",
          pushed["accountId"] == account.id and pushed["instanceIndex"] == 0
          and "sequenceNumber" not in pushed
          and pushed["trackerEvent"]["sequenceNumber"] == event["sequenceNumber"]
          and pushed["trackerEvent"]["trackerId"] == tracker_id
          and pushed["trackerEvent"]["exceededThresholdType"] == "drawdown", str(pushed))
    await raw.disconnect()
    # A pending order far from the price: an `update` packet the SDK must still apply.
    placed = rest(f"{acc}/trade", {"actionType": "ORDER_TYPE_BUY_LIMIT", "symbol": "EURUSD",
                                   "volume": 0.01, "openPrice": 1.0})
    await eventually("the SDK's connection, sent the same packet, still follows the account",
                     lambda: [o["id"] for o in connection.terminal_state.orders] == [placed.get("orderId")],
                     lambda: f"{placed} {connection.terminal_state.orders}")
    check("the SDK logged no error for the unknown packet type", errors.records == [], str(errors.records))
    await connection.close()

    stats = await rm.get_tracking_statistics(account.id, tracker_id)
    check("get_tracking_statistics: the current period, exceeded", len(stats) == 1
          and stats[0]["thresholdExceeded"] is True and stats[0]["exceededThresholdType"] == "drawdown"
          and stats[0]["initialBalance"] == 10000
          and abs(stats[0]["maxAbsoluteDrawdown"] - (10000 - equity)) < 1e-6, str(stats))
    live = await rm.get_tracking_statistics(account.id, tracker_id, None, 2, True)
    check("real-time statistics", live == stats, str(live))

    chart = await rm.get_equity_chart(account.id)
    check("get_equity_chart: the hour in progress", len(chart) == 1
          and chart[0]["startBrokerTime"] == "2026-01-07 12:00:00.000"
          and chart[0]["minEquity"] == equity and chart[0]["maxEquity"] == 10000, str(chart))
    rest("/sim/clock/advance", {"seconds": 7200})
    for _ in range(50):
        chart = await rm.get_equity_chart(account.id, None, None, True)
        if len(chart) == 2:
            break
        await asyncio.sleep(0.1)
    check("two hours later: the completed hour and the current one", len(chart) == 2
          and chart[1]["startBrokerTime"] == "2026-01-07 14:00:00.000", str(chart))
    filled = await rm.get_equity_chart(account.id, "2026-01-07 12:00:00.000", None, True, True)
    check("the SDK's fill_skips fills the hour without input", len(filled) == 3
          and filled[1]["startBrokerTime"] == "2026-01-07 13:00:00.000", str(filled))

    await rm.delete_tracker(account.id, tracker_id)
    check("delete_tracker", await rm.get_trackers(account.id) == [])
    api.close()
    finish()


asyncio.run(main())
