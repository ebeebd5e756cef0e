"""Drives the official MetaApi SDK, unchanged, against a running `drawbridge serve --tls`.

The SDK is configured the way a user would: its `domain` option, name resolution for the
domain's host names (done here in-process, as /etc/hosts or a DNS entry would), and trust in
drawbridge's local CA (SSL_CERT_FILE, set by the harness). Environment:

    DRAWBRIDGE_DOMAIN   the domain with the server's port, e.g. drawbridge.test:43123
    DRAWBRIDGE_TOKEN    an API token of a user
    SSL_CERT_FILE       the data dir's certs/ca.pem

Prints one line per check and exits non-zero on the first failure.
"""

import asyncio
import os
import socket
import sys

from metaapi_cloud_sdk import MetaApi
from metaapi_cloud_sdk.clients.error_handler import (
    NotFoundException,
    UnauthorizedException,
    ValidationException,
)

DOMAIN = os.environ["DRAWBRIDGE_DOMAIN"]
TOKEN = os.environ["DRAWBRIDGE_TOKEN"]
HOST = DOMAIN.rsplit(":", 1)[0]

_getaddrinfo = socket.getaddrinfo


def _resolve_domain_to_loopback(host, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode()
    if host == HOST or (isinstance(host, str) and host.endswith("." + HOST)):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve_domain_to_loopback

checks = 0


def check(name, condition, detail=""):
    global checks
    if not condition:
        print(f"FAIL {name} {detail}", flush=True)
        sys.exit(1)
    checks += 1
    print(f"ok {name}", flush=True)


async def expect_error(name, kind, coroutine):
    try:
        await coroutine
    except kind as err:
        check(name, True)
        return err
    except Exception as err:  # noqa: BLE001 - report what came instead
        check(name, False, f"expected {kind.__name__}, got {type(err).__name__}: {err}")
    check(name, False, f"expected {kind.__name__}, got success")


async def main():
    options = {"domain": DOMAIN, "requestTimeout": 30, "retryOpts": {"retries": 1}}
    api = MetaApi(TOKEN, options)
    generator = api.metatrader_account_generator_api
    accounts = api.metatrader_account_api

    creds = await generator.create_mt5_demo_account(
        {
            "accountType": "USD",
            "balance": 10000,
            "email": "sdk@example.com",
            "leverage": 100,
            "serverName": "Drawbridge-Demo",
            "name": "SDK demo",
        }
    )
    check("demo account generated", creds.login and creds.password and creds.server_name)

    account = await accounts.create_account(
        {
            "name": "SDK account",
            "type": "cloud-g2",
            "login": creds.login,
            "password": creds.password,
            "server": creds.server_name,
            "platform": "mt5",
            "magic": 1000,
            "region": "vint-hill",
        }
    )
    check("account created", bool(account.id))
    await account.wait_deployed(timeout_in_seconds=30, interval_in_milliseconds=200)
    check("account deployed", account.state == "DEPLOYED", account.state)
    await account.wait_connected(timeout_in_seconds=30, interval_in_milliseconds=200)
    check("account connected", account.connection_status == "CONNECTED", account.connection_status)

    same = await accounts.get_account(account.id)
    check("get account", same.login == creds.login and same.server == creds.server_name)

    listed = await accounts.get_accounts_with_infinite_scroll_pagination({"limit": 10})
    check("list accounts", account.id in [a.id for a in listed])
    # get_accounts_with_classic_scroll_pagination is not driven: SDK 29.1.1 asks for the
    # api-version 2 shape ({count, items}, which the cloud and drawbridge send) and then
    # iterates the reply as if it were a list, so it fails against either.

    await account.update({"name": "renamed", "password": creds.password, "server": creds.server_name})
    await account.reload()
    check("update account", account.name == "renamed", account.name)

    await account.undeploy()
    await account.wait_undeployed(timeout_in_seconds=30, interval_in_milliseconds=200)
    check("account undeployed", account.state == "UNDEPLOYED", account.state)
    await account.deploy()
    await account.wait_deployed(timeout_in_seconds=30, interval_in_milliseconds=200)
    check("account redeployed", account.state == "DEPLOYED", account.state)

    err = await expect_error(
        "unknown broker server is a ValidationException",
        ValidationException,
        accounts.create_account(
            {
                "name": "bad",
                "type": "cloud-g2",
                "login": creds.login,
                "password": creds.password,
                "server": "No-Such-Server",
                "platform": "mt5",
                "magic": 0,
            }
        ),
    )
    check("E_SRV_NOT_FOUND details", "E_SRV_NOT_FOUND" in str(err.details), str(err.details))

    err = await expect_error(
        "a wrong password is a ValidationException",
        ValidationException,
        accounts.create_account(
            {
                "name": "bad password",
                "type": "cloud-g2",
                "login": creds.login,
                "password": "not-the-password",
                "server": creds.server_name,
                "platform": "mt5",
                "magic": 0,
            }
        ),
    )
    check("E_AUTH details", "E_AUTH" in str(err.details), str(err.details))

    filtered = await accounts.get_accounts_with_infinite_scroll_pagination(
        {"query": "renamed", "state": ["DEPLOYED"]}
    )
    check("list accounts with a filter", [a.id for a in filtered] == [account.id])
    none = await accounts.get_accounts_with_infinite_scroll_pagination({"state": ["UNDEPLOYED"]})
    check("a filter that matches nothing", none == [])

    await expect_error(
        "a bad token is an UnauthorizedException",
        UnauthorizedException,
        MetaApi("no.such.token", options).metatrader_account_api.get_account(account.id),
    )

    await account.remove()
    await account.wait_removed(timeout_in_seconds=30, interval_in_milliseconds=200)
    await expect_error("removed account is gone", NotFoundException, accounts.get_account(account.id))

    api.close()
    print(f"{checks} passed, 0 failed", flush=True)


asyncio.run(main())
