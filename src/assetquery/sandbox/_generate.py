"""Building the fictional dataset: deterministic from a seed, fast, every identifier valid.

Each messy case (co-owned flats, another court's seal, a dormant account, an ID whose area
code python-stdnum rejects, ...) is given to a fixed number of randomly chosen parties, so
every seed has several of each; on top, assets get a random mix. Tags are then read off
what each party actually holds, so a tag never promises something that is not there.

Controls (seals, freezes) are dated back from the day the dataset is built, so they are in
force whenever the sandbox runs; every other value depends on the seed alone.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Literal

from stdnum import luhn
from stdnum.cn import ric, uscc

from .._time import SHANGHAI
from ._data import (
    ZERO,
    BankAccount,
    BankStatus,
    Control,
    Dataset,
    FundAccount,
    FundStatus,
    Mortgage,
    PartyKind,
    RealEstateUnit,
    SandboxParty,
    Tenure,
    UnitOwner,
)

__all__ = ["dataset"]

PERSONS = 240
ORGANIZATIONS = 60
EMPTY_SHARE = 0.15


# How many parties each messy case is given to (more may get it by chance).
_PERSON_QUOTAS = {"all_kinds": 12, "fund_sealed": 6, "fund_frozen": 6}
_PARTY_QUOTAS = {
    "mortgaged": 10,
    "sealed_by_other_court": 8,
    "waiting_seal": 6,
    "both_banks": 10,
    "partially_frozen": 8,
    "waiting_freeze": 6,
    "dormant": 6,
    "closed": 6,
    "foreign_currency": 6,
    "no_available_balance_field": 8,
}
_LEGACY_DISTRICT_IDS = 8  # born before their district's 1983 code existed
_FUNCTIONAL_ZONE_IDS = 4  # 620171 兰州新区: a code python-stdnum does not know
_LETTER_USCCS = 6
_HALF, _THIRD, _QUARTER = Fraction(1, 2), Fraction(1, 3), Fraction(1, 4)
_CO_OWNED_GROUPS = (  # the owners' shares of each 按份共有 unit
    (_HALF, _HALF),
    (_HALF, _HALF),
    (_THIRD, 2 * _THIRD),
    (2 * _THIRD, _THIRD),
    (_THIRD, _THIRD, _THIRD),
    (_HALF, _QUARTER, _QUARTER),
)
_JOINT_COUPLES = 5

_BANKS = ("bank-east", "bank-west")
_ESTATE_FEATURES = {"mortgaged", "sealed_by_other_court", "waiting_seal"}
_FUND_FEATURES = {"fund_sealed", "fund_frozen"}
_BANK_FEATURES = {
    "both_banks",
    "partially_frozen",
    "waiting_freeze",
    "dormant",
    "closed",
    "foreign_currency",
    "no_available_balance_field",
}

# --- vocabulary ----------------------------------------------------------------------------

_SURNAMES = (
    *"王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高梁郑谢宋唐韩冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁"
    "魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹"
    "黎易常武乔贺赖龚文",
    "欧阳",
    "司马",
    "上官",
)
_MALE_GIVEN = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林海峰建国志"
_FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀玲桂英丹萍红玉兰梅琳雪婷倩颖慧洁晶燕莉薇"

# (division code, district name): where people were registered and flats stand.
_DISTRICTS = (
    ("620102", "城关区"),
    ("620103", "七里河区"),
    ("620104", "西固区"),
    ("620105", "安宁区"),
    ("620111", "红古区"),
)
_COUNTIES = (("620121", "永登县"), ("620122", "皋兰县"), ("620123", "榆中县"))
_DISTRICT_CODES_SINCE = 1983  # python-stdnum knows the district codes from this year on
_FUNCTIONAL_ZONE = "620171"

_BRANDS = (
    "金城", "陇原", "黄河", "西北", "飞天", "丝路", "祁连", "雁滩", "五泉", "白塔", "滨河",
    "伏羲", "九州", "瑞丰", "鸿达", "恒通", "华通", "天恒", "泰和", "永盛", "鑫源", "宏远",
    "润泽", "嘉禾", "博远", "兴陇", "盛达", "中川", "和平", "东岗",
)  # fmt: skip
_TRADES = (
    "商贸", "建材", "物流", "餐饮管理", "房地产开发", "农业科技", "电子科技", "建筑工程",
    "汽车销售", "文化传媒", "物业管理", "医药", "机械设备", "装饰工程", "酒店管理",
)  # fmt: skip
_VILLAGES = ("新庄", "河湾", "红柳", "沙沟", "李家", "王家", "马坡", "杏花", "柳树", "上川")
_ROADS = (
    "庆阳路", "张掖路", "酒泉路", "东岗西路", "南昌路", "西津西路", "北滨河路", "天水南路",
    "民主东路", "金昌北路", "秀川路", "银滩路",
)  # fmt: skip

# Courts: (name, court code in case numbers). The first five enforce the sandbox's cases.
_COURTS = (
    ("兰州市城关区人民法院", "甘0102"),
    ("兰州市七里河区人民法院", "甘0103"),
    ("兰州市西固区人民法院", "甘0104"),
    ("兰州市安宁区人民法院", "甘0105"),
    ("甘肃省兰州市中级人民法院", "甘01"),
    ("兰州市红古区人民法院", "甘0111"),
    ("永登县人民法院", "甘0121"),
    ("榆中县人民法院", "甘0123"),
    ("白银市白银区人民法院", "甘0402"),
    ("天水市秦州区人民法院", "甘0502"),
)
_ENFORCING_COURTS = _COURTS[:5]

_LENDERS = (
    "东方商业银行股份有限公司兰州分行",
    "西部农村商业银行股份有限公司七里河支行",
    "陇西城市商业银行股份有限公司城关支行",
    "金城住房储蓄银行股份有限公司",
)
_FUND_CENTRE = "兰州住房公积金管理中心"


@dataclass(frozen=True, slots=True)
class _BankStyle:
    short_name: str
    card_bin: str
    account_prefix: str


_BANK_STYLES = {
    "bank-east": _BankStyle("东方商业银行", "621799", "2701"),
    "bank-west": _BankStyle("西部农村商业银行", "623095", "6201"),
}

_FEN = Decimal("0.01")
_Role = Literal["main", "second", "dormant", "foreign"]
_ACCOUNT_TYPES: dict[tuple[_Role, bool], tuple[str, ...]] = {  # (role, is a person)
    ("main", True): ("借记卡",),
    ("main", False): ("单位基本存款账户",),
    ("second", True): ("活期储蓄", "定期存款", "借记卡"),
    ("second", False): ("单位一般存款账户",),
    ("dormant", True): ("活期储蓄",),
    ("dormant", False): ("单位一般存款账户",),
    ("foreign", True): ("外币活期储蓄",),
    ("foreign", False): ("外汇结算账户",),
}

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


# --- building --------------------------------------------------------------------------------


@cache
def dataset(seed: int = 7) -> Dataset:
    """The fictional parties for ``seed``; the same seed always gives the same parties."""
    return _Builder(seed, today=datetime.now(SHANGHAI).date()).build()


@dataclass(slots=True)
class _Draft:
    """A party while it is being built."""

    kind: PartyKind
    name: str
    id_number: str
    court: str
    case_number: str
    claim: Decimal
    identity_tags: set[str]
    features: set[str] = field(default_factory=set)
    units: list[RealEstateUnit] = field(default_factory=list)
    fund: list[FundAccount] = field(default_factory=list)
    bank: list[BankAccount] = field(default_factory=list)

    @property
    def is_person(self) -> bool:
        return self.kind == "person"


class _Builder:
    def __init__(self, seed: int, *, today: date) -> None:
        self._seed = seed
        self._today = today
        self._rng = random.Random(seed)
        self._used: set[str] = set()
        self._employers: list[str] = []

    def build(self) -> Dataset:
        rng = self._rng
        chosen = rng.sample(range(PERSONS), _LEGACY_DISTRICT_IDS + _FUNCTIONAL_ZONE_IDS)
        old_district = set(chosen[:_LEGACY_DISTRICT_IDS])
        zone = set(chosen[_LEGACY_DISTRICT_IDS:])
        lettered = rng.sample(range(ORGANIZATIONS), _LETTER_USCCS)
        drafts = [
            self._person(legacy_district=i in old_district, functional_zone=i in zone)
            for i in range(PERSONS)
        ]
        drafts += [
            self._organization("NY"[lettered.index(i) % 2] if i in lettered else None)
            for i in range(ORGANIZATIONS)
        ]
        self._employers = [d.name for d in drafts if d.name.endswith("公司")]

        empty = set(rng.sample(range(len(drafts)), round(len(drafts) * EMPTY_SHARE)))
        holders = [d for i, d in enumerate(drafts) if i not in empty]
        persons = [d for d in holders if d.is_person]
        for feature, count in _PERSON_QUOTAS.items():
            for draft in rng.sample(persons, count):
                draft.features.add(feature)
        for feature, count in _PARTY_QUOTAS.items():
            for draft in rng.sample(holders, count):
                draft.features.add(feature)
        sharing = sum(len(shares) for shares in _CO_OWNED_GROUPS) + 2 * _JOINT_COUPLES
        self._shared_units(rng.sample(persons, sharing))
        for draft in holders:
            self._holdings(draft)
        return Dataset(self._seed, (_finish(draft) for draft in drafts))

    # --- who ---------------------------------------------------------------------------------

    def _person(self, *, legacy_district: bool, functional_zone: bool) -> _Draft:
        rng = self._rng
        male = rng.random() < 0.55
        given = _MALE_GIVEN if male else _FEMALE_GIVEN
        name = rng.choice(_SURNAMES) + "".join(rng.choices(given, k=rng.choice((1, 2, 2))))
        if functional_zone:
            area, born_from, born_to = _FUNCTIONAL_ZONE, 1975, 2000
        elif legacy_district:
            area, born_from, born_to = rng.choice(_DISTRICTS)[0], 1955, _DISTRICT_CODES_SINCE - 1
        elif rng.random() < 0.6:
            area, born_from, born_to = rng.choice(_DISTRICTS)[0], _DISTRICT_CODES_SINCE, 2003
        else:
            area, born_from, born_to = rng.choice(_COUNTIES)[0], 1955, 2003

        def number() -> str:
            born = self._day(date(born_from, 1, 1), date(born_to, 12, 31))
            sequence = rng.randrange(1, 500) * 2 + int(male)  # odd for men
            body = f"{area}{born:%Y%m%d}{sequence:03d}"
            # calc_check_digit takes the whole number and ignores its last character.
            return body + ric.calc_check_digit(body + "0")

        tags = {"legacy_area_code"} if legacy_district or functional_zone else set()
        return self._draft("person", name, self._fresh(number), tags)

    def _organization(self, authority: str | None) -> _Draft:
        """A company (credit code 91...), or with ``authority`` N or Y a rural collective."""
        rng = self._rng
        if authority is None:
            area = rng.choice(_DISTRICTS)[0]
            name = self._fresh(
                lambda: (
                    f"兰州{rng.choice(_BRANDS)}{rng.choice(_TRADES)}"
                    + rng.choice(("有限公司", "有限责任公司"))
                )
            )
            prefix, org_prefix = "91" + area, "MA"  # 9 market regulator, 1 company
        else:
            area, county = rng.choice(_COUNTIES)
            kind = "股份经济合作社" if authority == "N" else "经济联合社"
            name = self._fresh(lambda: f"{county}{rng.choice(_VILLAGES)}村{kind}")
            prefix, org_prefix = authority + "2" + area, ""

        def code() -> str:
            first17 = prefix + self._organization_code(org_prefix)
            return first17 + uscc.calc_check_digit(first17)

        tags = set() if authority is None else {"letter_uscc"}
        return self._draft("organization", name, self._fresh(code), tags)

    def _organization_code(self, prefix: str) -> str:
        """A 9-character organization code (GB 11714) with its own check character."""
        body = prefix + "".join(self._rng.choices(_USCC_ALPHABET, k=8 - len(prefix)))
        total = sum(w * int(c, 36) for w, c in zip(_ORG_CODE_WEIGHTS, body, strict=True))
        check = 11 - total % 11
        return body + {10: "X", 11: "0"}.get(check, str(check))

    def _draft(self, kind: PartyKind, name: str, number: str, tags: set[str]) -> _Draft:
        rng = self._rng
        court, code = rng.choice(_ENFORCING_COURTS)
        case_type = "执恢" if rng.random() < 0.1 else "执"
        year = self._today.year - rng.randint(0, 1)
        return _Draft(
            kind=kind,
            name=name,
            id_number=number,
            court=court,
            case_number=f"（{year}）{code}{case_type}{rng.randint(1, 9999)}号",
            claim=self._amount(5_000, 3_000_000),
            identity_tags=tags,
        )

    # --- what ----------------------------------------------------------------------------------

    def _holdings(self, draft: _Draft) -> None:
        rng = self._rng
        features = draft.features
        everything = "all_kinds" in features
        estate = (
            everything
            or bool(features & _ESTATE_FEATURES)
            or rng.random() < (0.35 if draft.is_person else 0.5)
        )
        fund = draft.is_person and (
            everything or bool(features & _FUND_FEATURES) or rng.random() < 0.45
        )
        bank = everything or bool(features & _BANK_FEATURES) or rng.random() < 0.75
        if estate:
            self._own_units(draft)
        if fund:
            self._fund(draft)
        if bank or not (draft.units or draft.fund):
            self._bank(draft)

    # real estate

    def _shared_units(self, people: Sequence[_Draft]) -> None:
        rest = list(people)
        for shares in _CO_OWNED_GROUPS:
            owners, rest = rest[: len(shares)], rest[len(shares) :]
            self._share_unit(owners, "按份共有", shares)
        for _ in range(_JOINT_COUPLES):
            couple, rest = rest[:2], rest[2:]
            self._share_unit(couple, "共同共有", (None, None))

    def _share_unit(
        self, owners: Sequence[_Draft], tenure: Tenure, shares: Sequence[Fraction | None]
    ) -> None:
        rng = self._rng
        unit = self._unit(
            [UnitOwner(o.name, o.id_number, s) for o, s in zip(owners, shares, strict=True)],
            tenure,
            owner_courts={o.court for o in owners},
            commercial=False,
            mortgaged=rng.random() < 0.4,
            sealed=rng.random() < 0.15,
            waiting=False,
        )
        for owner in owners:
            owner.units.append(unit)

    def _own_units(self, draft: _Draft) -> None:
        rng = self._rng
        features = draft.features
        for i in range(2 if rng.random() < 0.25 else 1):
            first = i == 0  # the first unit carries the cases the party was chosen for
            unit = self._unit(
                [UnitOwner(draft.name, draft.id_number)],
                "单独所有",
                owner_courts={draft.court},
                commercial=not draft.is_person and rng.random() < 0.8,
                mortgaged=(first and "mortgaged" in features) or rng.random() < 0.25,
                sealed=(first and "sealed_by_other_court" in features) or rng.random() < 0.04,
                waiting=first and "waiting_seal" in features,
            )
            draft.units.append(unit)

    def _unit(
        self,
        owners: list[UnitOwner],
        tenure: Tenure,
        *,
        owner_courts: set[str],
        commercial: bool,
        mortgaged: bool,
        sealed: bool,
        waiting: bool,
    ) -> RealEstateUnit:
        rng = self._rng
        division, district = rng.choice(_DISTRICTS)
        building, floor, door = rng.randint(1, 40), rng.randint(1, 33), rng.randint(1, 6)

        def number() -> str:
            zone = f"{rng.randint(1, 20):03d}{rng.randint(1, 40):03d}"
            parcel = f"GB{rng.randint(1, 99999):05d}"
            return f"{division}{zone}{parcel}F{building:04d}{floor * 100 + door:04d}"

        street = f"兰州市{district}{rng.choice(_ROADS)}{rng.randint(1, 999)}号"
        if commercial:
            use = rng.choice(("商业", "办公", "工业"))
            location = f"{street}{floor}层{door}号"
            area = self._amount(30, 900)
        else:
            use = "住宅"
            location = f"{street}{building}号楼{rng.randint(1, 4)}单元{floor}{door:02d}室"
            area = Decimal(rng.randint(4500, 16500)).scaleb(-2)
        registered = self._day(date(2005, 1, 1), date(2024, 12, 31))
        if registered.year >= 2016:  # unified real-estate certificates replaced house deeds
            certificate = f"甘（{registered.year}）兰州市不动产权第{rng.randint(1, 999999):07d}号"
        else:
            certificate = f"兰房权证（{district}）字第{rng.randint(1, 999999):06d}号"
        mortgages: tuple[Mortgage, ...] = ()
        if mortgaged:
            start = registered + timedelta(days=rng.randint(0, 30))
            mortgages = (
                Mortgage(
                    mortgagee=rng.choice(_LENDERS),
                    amount=self._amount(80_000, 1_500_000),
                    start=start,
                    end=_add_years(start, rng.choice((25, 30))) - timedelta(days=1),
                ),
            )
        seals: tuple[Control, ...] = ()
        if sealed or waiting:
            courts = self._other_courts(owner_courts, 3)
            first = self._control(courts[0], years=3)
            seals = (first,)
            if waiting:  # one or two more courts queue behind the first
                for position in range(2, 2 + rng.choice((1, 1, 2))):
                    seals += (self._waiting(courts[position - 1], first, position=position),)
        return RealEstateUnit(
            unit_number=self._fresh(number),
            certificate=certificate,
            location=location,
            area=area,
            use=None if rng.random() < 0.08 else use,
            registered_on=registered,
            tenure=tenure,
            owners=tuple(owners),
            mortgages=mortgages,
            seals=seals,
        )

    # housing fund

    def _fund(self, draft: _Draft) -> None:
        rng = self._rng
        status: FundStatus
        if "fund_sealed" in draft.features:
            status = "02"
        elif "fund_frozen" in draft.features:
            status = "04"
        else:
            status = rng.choices(("01", "02", "03", "04"), weights=(82, 10, 5, 3))[0]
        draft.fund.append(self._fund_account(draft, status))
        if rng.random() < 0.1:  # an account from an earlier job, since closed
            draft.fund.append(self._fund_account(draft, "03"))

    def _fund_account(self, draft: _Draft, status: FundStatus) -> FundAccount:
        rng = self._rng
        balance = ZERO if status == "03" else self._amount(300, 250_000)
        holds: tuple[Control, ...] = ()
        if status == "04":
            courts = self._other_courts({draft.court}, 2)
            holds = (self._control(courts[0], years=3, amount=min(balance, self._claim())),)
            if rng.random() < 0.5:
                holds += (self._waiting(courts[1], holds[0], amount=self._claim()),)
        left = status in ("02", "03") and rng.random() < 0.5  # sealed or closed: often no employer
        return FundAccount(
            account_number=self._fresh(lambda: f"{rng.randrange(10**11, 10**12)}"),
            balance=balance,
            status=status,
            employer=None if left else rng.choice(self._employers),
            centre=_FUND_CENTRE,
            opened_on=self._day(date(2005, 1, 1), date(2023, 12, 31)),
            holds=holds,
        )

    # banks

    def _bank(self, draft: _Draft) -> None:
        rng = self._rng
        features = draft.features
        both = "both_banks" in features or rng.random() < 0.2
        banks = _BANKS if both else (rng.choice(_BANKS),)
        for bank in banks:
            draft.bank.append(self._account(draft, bank, "main"))
            if rng.random() < 0.35:
                draft.bank.append(self._account(draft, bank, "second"))
        # Background mess, then each case the party was chosen for, at one of its banks.
        draft.bank = [
            self._partly_frozen(draft, a) if rng.random() < 0.05 else a for a in draft.bank
        ]
        if "partially_frozen" in features:
            plain = [i for i, a in enumerate(draft.bank) if not a.holds]
            if plain:  # else the background already froze part of every account
                draft.bank[plain[0]] = self._partly_frozen(draft, draft.bank[plain[0]])
        if "waiting_freeze" in features:
            account = self._account(draft, rng.choice(banks), "second")
            draft.bank.append(self._fully_frozen(draft, account))
        if "dormant" in features:
            draft.bank.append(self._account(draft, rng.choice(banks), "dormant", "DORMANT"))
        if "closed" in features:
            draft.bank.append(self._account(draft, rng.choice(banks), "second", "CLOSED"))
        if "foreign_currency" in features:
            draft.bank.append(self._account(draft, rng.choice(banks), "foreign", currency="USD"))
        silent = [rng.random() < 0.05 for _ in draft.bank]
        if "no_available_balance_field" in features:
            # Prefer an account with a freeze: there the missing field matters.
            held = [i for i, a in enumerate(draft.bank) if a.holds]
            silent[held[0] if held else 0] = True
        draft.bank = [
            replace(a, states_available=False) if quiet else a
            for a, quiet in zip(draft.bank, silent, strict=True)
        ]

    def _account(
        self,
        draft: _Draft,
        bank: str,
        role: _Role = "main",
        status: BankStatus = "NORMAL",
        currency: str = "CNY",
    ) -> BankAccount:
        rng = self._rng
        style = _BANK_STYLES[bank]
        person = draft.is_person
        account_type = rng.choice(_ACCOUNT_TYPES[role, person])
        if account_type == "借记卡":
            number = self._fresh(lambda: self._card_number(style))
        else:
            number = self._fresh(lambda: style.account_prefix + f"{rng.randrange(10**16):016d}")
        if status == "CLOSED":
            balance = ZERO
        elif status == "DORMANT":
            balance = self._amount(0.5, 300)
        elif currency != "CNY":
            balance = self._amount(100, 50_000)
        else:
            balance = self._amount(10, 300_000) if person else self._amount(1_000, 5_000_000)
        district = rng.choice(_DISTRICTS)[1].removesuffix("区")
        return BankAccount(
            bank=bank,
            account_number=number,
            account_type=account_type,
            currency=currency,
            balance=balance,
            status=status,
            branch=f"{style.short_name}兰州{district}支行",
            opened_on=self._day(date(2008, 1, 1), date(2024, 12, 31)),
        )

    def _card_number(self, style: _BankStyle) -> str:
        """A UnionPay-style card number: the bank's BIN, digits and a Luhn check digit."""
        length = 19 if self._rng.random() < 0.85 else 16
        digits = "".join(self._rng.choices("0123456789", k=length - len(style.card_bin) - 1))
        body = style.card_bin + digits
        return body + luhn.calc_check_digit(body)

    def _partly_frozen(self, draft: _Draft, account: BankAccount) -> BankAccount:
        """Another court froze part of the balance: something is still available."""
        share = Decimal(self._rng.randint(20, 80)) / 100
        amount = (account.balance * share).quantize(_FEN)
        court = self._other_courts({draft.court}, 1)[0]
        return replace(account, holds=(self._control(court, years=1, amount=amount),))

    def _fully_frozen(self, draft: _Draft, account: BankAccount) -> BankAccount:
        """Another court froze everything and a third court waits in line behind it."""
        first, second = self._other_courts({draft.court}, 2)
        freeze = self._control(first, years=1, amount=account.balance)
        waiting = self._waiting(second, freeze, amount=self._claim())
        return replace(account, holds=(freeze, waiting))

    # --- small parts -------------------------------------------------------------------------

    def _other_courts(self, own: set[str], count: int) -> list[tuple[str, str]]:
        """Courts other than the owners' enforcing courts, whose controls came first."""
        return self._rng.sample([c for c in _COURTS if c[0] not in own], count)

    def _control(
        self, court: tuple[str, str], *, years: int, amount: Decimal | None = None
    ) -> Control:
        """A control in force, begun within the last two and a half years."""
        today = self._today
        start = self._day(
            today - timedelta(days=900 if years > 1 else 330), today - timedelta(days=30)
        )
        return Control(
            authority=court[0],
            case_number=self._case_elsewhere(court[1], start),
            start=start,
            end=_add_years(start, years) - timedelta(days=1),
            amount=amount,
        )

    def _waiting(
        self,
        court: tuple[str, str],
        ahead: Control,
        *,
        position: int = 2,
        amount: Decimal | None = None,
    ) -> Control:
        """A control waiting in line behind ``ahead``: registered later, its period not begun."""
        start = self._day(ahead.start + timedelta(days=1), self._today)
        return Control(
            authority=court[0],
            case_number=self._case_elsewhere(court[1], start),
            start=start,
            end=None,
            amount=amount,
            position=position,
        )

    def _case_elsewhere(self, court_code: str, start: date) -> str:
        """A case of another court, filed the year its control began or the year before."""
        rng = self._rng
        year = start.year - rng.randint(0, 1)
        case_type = rng.choice(("执", "执", "执保"))
        return f"（{year}）{court_code}{case_type}{rng.randint(1, 9999)}号"

    def _claim(self) -> Decimal:
        return self._amount(5_000, 800_000)

    def _amount(self, low: float, high: float) -> Decimal:
        """An amount in fen precision, log-uniform: small sums are as common as large ones."""
        fen = round(math.exp(self._rng.uniform(math.log(low), math.log(high))) * 100)
        return Decimal(fen).scaleb(-2)

    def _day(self, first: date, last: date) -> date:
        return first + timedelta(days=self._rng.randint(0, (last - first).days))

    def _fresh(self, make: Callable[[], str]) -> str:
        """A value ``make`` gives that this dataset has not used yet."""
        while (value := make()) in self._used:
            pass
        self._used.add(value)
        return value


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _finish(draft: _Draft) -> SandboxParty:
    """The immutable party, with tags read off what it holds."""
    units, fund, bank = tuple(draft.units), tuple(draft.fund), tuple(draft.bank)
    tags = set(draft.identity_tags)
    seals = [s for u in units for s in u.seals]
    holds = [h for a in bank for h in a.holds]
    found = {
        "real_estate": bool(units),
        "housing_fund": bool(fund),
        "bank_account": bool(bank),
        "all_kinds": bool(units and fund and bank),
        "no_assets": not (units or fund or bank),
        "co_owned": any(u.tenure == "按份共有" for u in units),
        "joint_owned": any(u.tenure == "共同共有" for u in units),
        "mortgaged": any(u.mortgages for u in units),
        "sealed_by_other_court": any(not s.waiting for s in seals),
        "waiting_seal": any(s.waiting for s in seals),
        "fund_sealed": any(a.status == "02" for a in fund),
        "fund_frozen": any(a.status == "04" for a in fund),
        "both_banks": len({a.bank for a in bank}) > 1,
        "partially_frozen": any(ZERO < a.available < a.balance for a in bank if a.holds),
        "waiting_freeze": any(h.waiting for h in holds),
        "dormant": any(a.status == "DORMANT" for a in bank),
        "closed": any(a.status == "CLOSED" for a in bank),
        "foreign_currency": any(a.currency != "CNY" for a in bank),
        "no_available_balance_field": any(not a.states_available for a in bank),
    }
    tags.update(tag for tag, present in found.items() if present)
    return SandboxParty(
        kind=draft.kind,
        name=draft.name,
        id_number=draft.id_number,
        court=draft.court,
        case_number=draft.case_number,
        claim=draft.claim,
        tags=frozenset(tags),
        properties=units,
        fund_accounts=fund,
        bank_accounts=bank,
    )
