"""The seller: who issues the invoices, printed at the top of every invoice document.

Configured in ``<data-dir>/reference/seller.yml`` (business configuration, like the price books;
optional). Every key is optional; the defaults below apply to a missing file or key::

    name: Meterline Demo AI Ltd          # default "meterline"
    address: [1 Example Street, London EC1A 1AA, United Kingdom]   # lines, default none
    email: billing@meterline.example.com
    tax_id: GB 123 4567 89               # VAT / tax registration number
    payment_instructions: Bank transfer to IBAN ..., quoting the invoice number.

``meterline close`` stores the seller as JSON in the ledger with each issued invoice
(``ledger.issued_invoices.seller_json``), so an issued document never changes when the file does.
An invalid file stops the close with a message naming the file and the key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_NAME = "meterline"
_TEXT_KEYS = ("name", "email", "tax_id", "payment_instructions")


class SellerConfigError(ValueError):
    """reference/seller.yml is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class Seller:
    name: str = DEFAULT_NAME
    address: tuple[str, ...] = field(default_factory=tuple)
    email: str | None = None
    tax_id: str | None = None
    payment_instructions: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data["address"] = list(self.address)
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Seller | None:
        if not text:
            return None
        data = json.loads(text)
        return cls(
            name=data.get("name") or DEFAULT_NAME,
            address=tuple(data.get("address") or ()),
            email=data.get("email"),
            tax_id=data.get("tax_id"),
            payment_instructions=data.get("payment_instructions"),
        )


def parse_seller(doc: Any, where: str) -> Seller:
    if doc is None:
        return Seller()
    if not isinstance(doc, dict):
        raise SellerConfigError(f"{where}: must be a mapping of name, address, email, ...")
    unknown = sorted(set(doc) - {*_TEXT_KEYS, "address"})
    if unknown:
        raise SellerConfigError(f"{where}: unknown key(s): {', '.join(map(str, unknown))}")
    values: dict[str, Any] = {}
    for key in _TEXT_KEYS:
        v = doc.get(key)
        if v is None:
            continue
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            raise SellerConfigError(f"{where}: {key}: {v!r} is not text")
        text = str(v).strip()
        if text:
            values[key] = text
    address = doc.get("address")
    if isinstance(address, str):
        address = [line for line in address.splitlines()]
    if address is not None:
        if not isinstance(address, list) or not all(isinstance(x, str) for x in address):
            raise SellerConfigError(f"{where}: address: must be a list of lines (text)")
        values["address"] = tuple(x.strip() for x in address if x.strip())
    return Seller(**values)


def load_seller(reference_dir: Path) -> Seller:
    """The seller of ``reference/seller.yml`` (or ``.yaml``), the defaults when absent."""
    for name in ("seller.yml", "seller.yaml"):
        path = reference_dir / name
        if path.is_file():
            where = f"reference/{name}"
            try:
                doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                first = str(exc).splitlines()[0]
                raise SellerConfigError(f"{where}: cannot be parsed as YAML: {first}") from exc
            return parse_seller(doc, where)
    return Seller()
