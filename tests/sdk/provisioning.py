"""Drives the official MetaApi SDK, unchanged, against a running `drawbridge serve --tls`.

The SDK is configured the way a user would: its `domain` option, name resolution for the
domain's host names and trust in drawbridge's local CA (see harness.py).
"""

import asyncio

from harness import DOMAIN, TOKEN, check, finish
from metaapi_cloud_sdk import MetaApi
from metaapi_cloud_sdk.clients.error_handler import (
    NotFoundException,
    UnauthorizedException,
    ValidationException,
)


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
    finish()


asyncio.run(main())
