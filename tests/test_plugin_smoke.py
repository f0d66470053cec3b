from __future__ import annotations

import asyncio


async def test_async_tests_run_on_a_running_loop() -> None:
    await asyncio.sleep(0)
    assert asyncio.get_running_loop().is_running()
