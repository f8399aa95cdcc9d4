"""The official MCP Python SDK as a client of a real ibkr-mcp on the simulator: lists the tools
and calls every tool that declares an output schema; the SDK validates each result against its
schema (ClientSession.call_tool raises on a mismatch).

usage: outputs_client.py SERVER_BINARY JOURNAL. Prints one JSON object: titles, the tools with
output schemas, those validated, and the size of tools/list.
"""

import asyncio
import json
import sys

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

ARGS = {
    "account_summary": {},
    "accounts": {},
    "cash_balances": {},
    "get_quotes": {"symbols": ["AAPL", "MSFT"]},
    "fx_rate": {"from": "EUR", "to": "USD"},
    "performance": {"period": "MTD"},
    "option_chain": {"symbol": "SPY", "strikes_around_money": 2},
}


async def main(binary: str, journal: str) -> None:
    server = StdioServerParameters(
        command=binary,
        env={"TRADE_JOURNAL_PATH": journal, "EQUITY_SAMPLE_SECONDS": "0", "LOG_LEVEL": "error"},
    )
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            tools = listed.tools
            with_schema = [t.name for t in tools if t.output_schema is not None]
            validated = []
            for name in with_schema:
                result = await session.call_tool(name, ARGS.get(name, {}))
                if result.is_error:
                    raise SystemExit(f"{name} failed: {result.structured_content}")
                validated.append(name)
            size = len(listed.model_dump_json(by_alias=True, exclude_none=True))
            print(
                json.dumps(
                    {
                        "untitled": [t.name for t in tools if not t.title],
                        "with_schema": sorted(with_schema),
                        "validated": sorted(validated),
                        "tools": len(tools),
                        "tools_list_bytes": size,
                    }
                )
            )


asyncio.run(main(sys.argv[1], sys.argv[2]))
