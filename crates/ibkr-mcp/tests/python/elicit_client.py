"""The official MCP Python SDK as the client of a real ibkr-mcp: previews and buys $20 of AAPL
with an elicitation callback playing the person (protocol 2025-11-25, the SDK's handshake).

usage: elicit_client.py SERVER_BINARY JOURNAL ANSWER   (ANSWER: approve, reject, decline,
cancel, wrong). Prints one JSON object: the prompts seen and the buy's structured result.
"""

import asyncio
import json
import sys

from mcp import types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


async def main(binary: str, journal: str, answer: str) -> None:
    prompts: list[dict] = []

    async def person(context, params: types.ElicitRequestParams) -> types.ElicitResult:
        prompts.append({"message": params.message, "schema": params.requested_schema})
        if answer in ("decline", "cancel"):
            return types.ElicitResult(action=answer)
        content = {"approve": "approve", "reject": "reject"}.get(answer, "sure, why not")
        return types.ElicitResult(action="accept", content={"decision": content})

    server = StdioServerParameters(
        command=binary,
        env={
            "TRADE_JOURNAL_PATH": journal,
            "EQUITY_SAMPLE_SECONDS": "0",
            "TRADING_DRY_RUN": "false",
            "TRADING_APPROVAL": "elicit",
            "LOG_LEVEL": "error",
        },
    )
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write, elicitation_callback=person) as session:
            await session.initialize()
            preview = await session.call_tool(
                "preview_order", {"symbol": "AAPL", "side": "BUY", "cash_amount": 20}
            )
            token = preview.structured_content["data"]["confirmation_token"]
            fingerprint = preview.structured_content["data"]["fingerprint"]
            bought = await session.call_tool(
                "buy", {"symbol": "AAPL", "cash_amount": 20, "confirmation_token": token}
            )
            print(
                json.dumps(
                    {
                        "fingerprint": fingerprint,
                        "prompts": prompts,
                        "buy": bought.structured_content,
                        "is_error": bought.is_error,
                    }
                )
            )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
