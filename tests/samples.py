"""Small, realistic wire samples of the built-in institutions, for dispatcher tests."""

from __future__ import annotations

from typing import Any

from assetquery import Settings
from assetquery._config import settings_from_mapping

REGISTRY = "https://registry.test"
FUND = "https://fund.test"
BANK = "https://bank.test"
TICKET_BANK = "https://ticket-bank.test"

REGISTRY_PATH = f"{REGISTRY}/bdc/judicial/query"
FUND_PATH = f"{FUND}/gjj/api/v1/sfcx"
BANK_PATH = f"{BANK}/api/judicial/v2/inquiries"
TICKET_PATH = f"{TICKET_BANK}/api/judicial/v2/inquiries"


def settings(*, deadline: float = 60.0, **per_institution: Any) -> Settings:
    """Four institutions on .test hosts; keyword arguments apply to every one of them."""
    table = [
        ("registry", "不动产登记中心", "realestate", REGISTRY),
        ("fund", "住房公积金管理中心", "housing_fund", FUND),
        ("bank", "示例银行", "bank", BANK),
        ("ticket-bank", "示例农商银行", "bank", TICKET_BANK),
    ]
    return settings_from_mapping(
        {
            "lookup": {"deadline": deadline},
            "institutions": [
                {"id": i, "name": n, "adapter": a, "base_url": u, **per_institution}
                for i, n, a, u in table
            ],
        }
    )


def registry_xml(id_number: str, *, code: str = "0000", units: int = 1) -> bytes:
    unit = f"""
      <Bdcdy>
        <Bdcdyh>620102001002GB0001{units}F00010002</Bdcdyh>
        <Bdcqzh>甘(2019)兰州市不动产权第0001234号</Bdcqzh>
        <Zl>甘肃省兰州市城关区示例路1号</Zl><Mj>89.56</Mj><Yt>住宅</Yt>
        <Djsj>20190315</Djsj><Gyfs>按份共有</Gyfs>
        <Qlr><Mc>张三</Mc><Zjh>{id_number}</Zjh><Fe>1/2</Fe></Qlr>
        <Qlr><Mc>李四</Mc><Zjh>110105199001010045</Zjh><Fe>1/2</Fe></Qlr>
        <Cfxx><Cfjg>兰州市七里河区人民法院</Cfjg><Cfwh>（2023）甘0103执55号</Cfwh>
              <Cflx>查封</Cflx><Qssj>20230601</Qssj><Jssj>20260531</Jssj></Cfxx>
      </Bdcdy>"""
    body = f"""<?xml version="1.0" encoding="GBK"?>
<CxResponse>
  <Head><Ywh>R1</Ywh><Jgdm>{code}</Jgdm><Jgxx>结果</Jgxx><Cxsj>20261126103000</Cxsj></Head>
  <Fcxx>{unit if units else ""}</Fcxx>
</CxResponse>"""
    return body.encode("gbk")


def fund_json(id_number: str, *, code: str = "0000") -> dict[str, Any]:
    accounts = [
        {
            "grzh": "620100012345",
            "xm": "张三",
            "zjhm": id_number,
            "zhye": 5_432_100,
            "djje": 1_000_000,
            "zhzt": "04",
            "dwmc": "兰州示例有限公司",
            "gjjzxmc": "兰州住房公积金管理中心",
            "khrq": "2015-06-01",
            "djxx": [
                {
                    "djjg": "兰州市西固区人民法院",
                    "ah": "（2025）甘0104执9号",
                    "djje": 1_000_000,
                    "qsrq": "2025-03-01",
                    "jsrq": "2028-02-28",
                }
            ],
        }
    ]
    return {
        "code": code,
        "msg": "成功",
        "ywlsh": "F1",
        "cxsj": "2026-11-26 10:30:00",
        "data": {"zhxx": accounts if code == "0000" else []},
    }


def bank_json(*, accounts: int = 1) -> dict[str, Any]:
    return {
        "requestId": "B1",
        "state": "COMPLETED",
        "completedAt": "2026-11-26T10:30:00+08:00",
        "accounts": [
            {
                "accountNo": f"622202123456789012{n}",
                "accountName": "张三",
                "accountType": "DEBIT_CARD",
                "currency": "CNY",
                "balance": "20000.00",
                "availableBalance": "15000.00",
                "status": "NORMAL",
                "holds": [
                    {
                        "type": "FREEZE",
                        "authority": "兰州市西固区人民法院",
                        "caseNo": "（2025）甘0104执9号",
                        "amount": "5000.00",
                        "from": "2025-03-01",
                        "to": "2026-02-28",
                    }
                ],
            }
            for n in range(accounts)
        ],
    }
