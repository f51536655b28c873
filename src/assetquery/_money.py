"""Money: a ``Decimal`` amount in fen precision and a currency. Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, field_validator

from ._internals import assembled

__all__ = ["FEN", "LIMIT", "Money"]

FEN = Decimal("0.01")
#: No real balance, claim or value reaches this (10^15 yuan): larger means a broken input.
LIMIT = Decimal(10) ** 15


class Money(BaseModel):
    """An amount of money. ``amount`` is a ``Decimal`` quantized to fen (0.01).

    Floats are refused: ``0.1 + 0.2`` is not a sum a court can defend.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    amount: Decimal
    currency: str = "CNY"

    def __init__(
        self,
        amount: Decimal | int | str | None = None,
        currency: str | None = None,
        /,
        **data: Any,
    ) -> None:
        # Positional use reads naturally (``Money("12.30")``); pydantic passes keywords.
        if amount is not None:
            data["amount"] = amount
        if currency is not None:
            data["currency"] = currency
        super().__init__(**data)

    @field_validator("amount", mode="before")
    @classmethod
    def _exact_amount(cls, value: object) -> Decimal:
        if isinstance(value, bool | float):
            raise ValueError(
                f"amount must be a Decimal, int or decimal string, not {type(value).__name__} "
                "(binary floats cannot hold fen exactly)"
            )
        if isinstance(value, Decimal):
            amount = value
        elif isinstance(value, int | str):
            text = str(value).strip()
            if len(text) > 40:
                raise ValueError("amount has more than 40 characters; not an amount of money")
            try:
                amount = Decimal(text)
            except InvalidOperation:
                raise ValueError(f"amount {value!r} is not a decimal number") from None
        else:
            raise ValueError(f"amount must be a Decimal, int or string, not {type(value).__name__}")
        if not amount.is_finite():
            raise ValueError("amount is not a finite number")
        if abs(amount) >= LIMIT:
            raise ValueError("amount is 10^15 or more; no real amount is that large")
        return amount.quantize(FEN, rounding=ROUND_HALF_UP)

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha() or not code.isascii():
            raise ValueError(f"currency {value!r} is not a three-letter ISO 4217 code")
        return code

    @classmethod
    def cny(cls, amount: Decimal | int | str) -> Self:
        return cls(amount, "CNY")

    @classmethod
    def from_fen(cls, fen: int, currency: str = "CNY") -> Self:
        """From an integer number of fen (hundredths), as some institutions send amounts."""
        if isinstance(fen, bool) or not isinstance(fen, int):
            raise ValueError(f"fen must be an integer, not {type(fen).__name__}")
        if abs(fen) >= LIMIT * 100:
            raise ValueError("amount is 10^15 or more; no real amount is that large")
        if currency == "CNY":  # the usual case: nothing left to check
            return cls._exact(Decimal(fen).scaleb(-2), currency)
        return cls(Decimal(fen).scaleb(-2), currency)

    @classmethod
    def of(cls, amount: Decimal, currency: str = "CNY") -> Self:
        """Money from a ``Decimal`` and a currency code, as ``Money(amount, currency)`` makes
        it, without pydantic's round trip when both are plainly valid (a finite amount
        below the limit, three upper-case ASCII letters): adapters make several per asset."""
        plain = currency == "CNY" or (
            len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()
        )
        if plain and type(amount) is Decimal:
            return cls._exact(amount, currency)
        return cls(amount, currency)

    @classmethod
    def _exact(cls, amount: Decimal, currency: str) -> Self:
        """Money from a ``Decimal`` this library computed and a currency already checked,
        as validation would make it (bounded, quantized) without pydantic's round trip:
        sums and differences are made several times per lookup."""
        if not (amount.is_finite() and -LIMIT < amount < LIMIT):
            return cls(amount, currency)  # refused, as validation words it
        return assembled(
            cls, {"amount": amount.quantize(FEN, rounding=ROUND_HALF_UP), "currency": currency}
        )

    @property
    def fen(self) -> int:
        return int(self.amount.scaleb(2))

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money._exact(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money._exact(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.amount:,} {self.currency}"
