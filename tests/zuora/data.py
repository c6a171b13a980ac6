"""The default fake tenant: four exportable objects and one Zuora describes but won't export.

Values meant to stress the path tap -> target: empty text, null numbers, integers and dates,
an empty boolean, money >= 1e16 and < 1e-4 (the tap prints those in exponent notation),
more digits than a double holds, non-ASCII text (é, CJK, emoji), text with commas and quotes
(CSV quoting), datetimes on both sides of a DST change, and a soft-deleted invoice. Every
object's latest ``UpdatedDate`` belongs to one row only (the boundary row an incremental AQuA
run sends again). Everything happens in 2025, before any real clock the tests run under.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from zuora.model import UTC, Field, Tenant, Value, ZuoraObject

START_DATE = "2024-06-01T00:00:00Z"
"""A ``start_date`` for the tap config before every row of the default tenant."""


def utc(year: int, month: int, day: int, *clock: int) -> dt.datetime:
    """``utc(2025, 2, 1, 10)``: an aware datetime in UTC (hour, minute, second optional)."""
    hour, minute, second = (*clock, 0, 0, 0)[:3]
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def zid(kind: int, number: int) -> str:
    """A Zuora-looking 32-hex id: ``zid(0xA, 1)`` -> ``2c92a0fd0a0000000000000000000001``."""
    return f"2c92a0fd{kind:02x}{number:022x}"


ACME, SOCIETE, BEIJING, ZOE = (zid(0xA, n) for n in range(1, 5))
INV1, INV2, INV3, INV4, INV5 = (zid(0xB, n) for n in range(1, 6))
ITEM1, ITEM2, ITEM3, ITEM4, ITEM5, ITEM6 = (zid(0xC, n) for n in range(1, 7))
SUB1, SUB2, SUB3 = (zid(0xD, n) for n in range(1, 4))

TIMESTAMPS = (Field("CreatedDate", "datetime"), Field("UpdatedDate", "datetime"))

ACCOUNT_FIELDS = [
    Field("Id", "text"),
    Field("AccountNumber", "text"),
    Field("Name", "text", required=True),
    Field("Status", "picklist", required=True),
    Field("Currency", "picklist"),
    Field("Balance", "decimal"),
    Field("CreditBalance", "decimal"),
    Field("AutoPay", "boolean"),
    Field("BillCycleDay", "integer"),
    Field("LastInvoiceDate", "date"),
    Field("ParentId", "text"),
    Field("BillToContactId", "text"),
    Field("CommunicationProfileId", "text"),  # unsupported by tap-zuora's REST mode
    Field("Notes", "text"),
    Field("Logo", "binary"),  # a type tap-zuora does not map: schema {}, never queried
    Field("TaxExemptCertificateID", "text", contexts=("soap",)),  # not exportable
    *TIMESTAMPS,
    Field("Region__c", "picklist", custom=True),
]
INVOICE_FIELDS = [
    Field("Id", "text"),
    Field("AccountId", "text"),
    Field("InvoiceNumber", "text"),
    Field("Status", "picklist"),
    Field("Amount", "decimal"),
    Field("Balance", "decimal"),
    Field("TaxAmount", "decimal"),
    Field("InvoiceDate", "date"),
    Field("DueDate", "date"),
    Field("PostedDate", "datetime"),
    Field("IncludesOneTime", "boolean"),
    Field("Comments", "text"),
    *TIMESTAMPS,
]
INVOICE_ITEM_FIELDS = [
    Field("Id", "text"),
    Field("InvoiceId", "text"),
    Field("ChargeName", "text"),
    Field("ChargeAmount", "decimal"),
    Field("Quantity", "decimal"),
    Field("UnitPrice", "decimal"),
    Field("ServiceStartDate", "date"),
    Field("ServiceEndDate", "date"),
    Field("SKU", "text"),
    Field("Balance", "decimal"),  # unsupported by tap-zuora's REST mode
    *TIMESTAMPS,
]
SUBSCRIPTION_FIELDS = [
    Field("Id", "text"),
    Field("AccountId", "text"),
    Field("Name", "text"),
    Field("Status", "picklist"),
    Field("Version", "integer"),
    Field("TermType", "picklist"),
    Field("AutoRenew", "boolean"),
    Field("ContractEffectiveDate", "date"),
    Field("TermEndDate", "date"),
    Field("CancelledDate", "date"),
    *TIMESTAMPS,
]

D = Decimal
ACCOUNTS: list[dict[str, Value]] = [
    {
        "Id": ACME,
        "AccountNumber": "A00000001",
        "Name": "Acme Corp",
        "Status": "Active",
        "Currency": "USD",
        "Balance": D("1200.50"),
        "CreditBalance": D("0"),
        "AutoPay": True,
        "BillCycleDay": 1,
        "LastInvoiceDate": dt.date(2025, 2, 1),
        "ParentId": "",
        "BillToContactId": zid(0xE, 1),
        "CommunicationProfileId": zid(0xF, 1),
        "Notes": "",
        "Logo": "iVBORw0KGgo=",
        "TaxExemptCertificateID": "TX-0001",
        "CreatedDate": utc(2025, 1, 5, 9),
        "UpdatedDate": utc(2025, 2, 1, 10),
        "Region__c": "EMEA",
    },
    {
        "Id": SOCIETE,
        "AccountNumber": "A00000002",
        "Name": "Société Générale 🚀",
        "Status": "Active",
        "Currency": "EUR",
        "Balance": D("98765432109876543210.12"),
        "CreditBalance": None,
        "AutoPay": None,
        "BillCycleDay": None,
        "LastInvoiceDate": None,
        "ParentId": ACME,
        "BillToContactId": zid(0xE, 2),
        "CommunicationProfileId": "",
        "Notes": 'Key account, "strategic"',
        "CreatedDate": utc(2025, 1, 6, 23, 30),
        "UpdatedDate": utc(2025, 2, 3, 8, 15, 30),
        "Region__c": "",
    },
    {
        "Id": BEIJING,
        "AccountNumber": "A00000003",
        "Name": "北京有限公司",
        "Status": "Draft",
        "Currency": "CNY",
        "Balance": D("0.00005"),
        "CreditBalance": D("0.0000001"),
        "AutoPay": False,
        "BillCycleDay": 28,
        "LastInvoiceDate": None,
        "ParentId": "",
        "BillToContactId": "",
        "CommunicationProfileId": zid(0xF, 3),
        "Notes": "新客户",
        "CreatedDate": utc(2025, 2, 10, 16, 45, 1),
        "UpdatedDate": utc(2025, 2, 10, 16, 45, 1),
        "Region__c": "APAC",
    },
    {
        "Id": ZOE,
        "AccountNumber": "A00000004",
        "Name": "Zoë's Café",
        "Status": "Canceled",
        "Currency": "USD",
        "Balance": D("-12.50"),
        "CreditBalance": D("1234567890.123456789"),
        "AutoPay": True,
        "BillCycleDay": 15,
        "LastInvoiceDate": dt.date(2025, 2, 15),
        "ParentId": "",
        "BillToContactId": zid(0xE, 4),
        "CommunicationProfileId": zid(0xF, 4),
        "Notes": "Closed 😢",
        "CreatedDate": utc(2025, 1, 20, 12),
        "UpdatedDate": utc(2025, 3, 1, 10),
        "Region__c": "AMER",
    },
]
INVOICES: list[dict[str, Value]] = [
    {
        "Id": INV1,
        "AccountId": ACME,
        "InvoiceNumber": "INV00000001",
        "Status": "Posted",
        "Amount": D("1200.50"),
        "Balance": D("0"),
        "TaxAmount": D("0.0000123"),
        "InvoiceDate": dt.date(2025, 2, 1),
        "DueDate": dt.date(2025, 3, 3),
        "PostedDate": utc(2025, 2, 1, 10, 5).replace(microsecond=123456),  # AQuA sends .123
        "IncludesOneTime": True,
        "Comments": "",
        "CreatedDate": utc(2025, 2, 1, 10),
        "UpdatedDate": utc(2025, 2, 1, 10, 5),
    },
    {
        "Id": INV2,
        "AccountId": SOCIETE,
        "InvoiceNumber": "INV00000002",
        "Status": "Posted",
        "Amount": D("10000000000000000"),
        "Balance": D("10000000000000000"),
        "TaxAmount": None,
        "InvoiceDate": dt.date(2025, 2, 3),
        "DueDate": dt.date(2025, 3, 5),
        "PostedDate": utc(2025, 2, 3, 9),
        "IncludesOneTime": False,
        "Comments": "Merci — payé ✅",
        "CreatedDate": utc(2025, 2, 3, 8, 59),
        "UpdatedDate": utc(2025, 2, 3, 9),
    },
    {
        "Id": INV3,
        "AccountId": BEIJING,
        "InvoiceNumber": "INV00000003",
        "Status": "Draft",
        "Amount": D("99.99"),
        "Balance": D("99.99"),
        "TaxAmount": D("0"),
        "InvoiceDate": dt.date(2025, 2, 10),
        "DueDate": None,
        "PostedDate": None,
        "IncludesOneTime": None,
        "Comments": "草稿",
        "CreatedDate": utc(2025, 2, 10, 17),
        "UpdatedDate": utc(2025, 2, 10, 17),
    },
    {
        "Id": INV4,
        "AccountId": ZOE,
        "InvoiceNumber": "INV00000004",
        "Status": "Posted",
        "Amount": D("-12.50"),
        "Balance": D("-12.50"),
        "TaxAmount": D("0"),
        "InvoiceDate": dt.date(2025, 2, 15),
        "DueDate": dt.date(2025, 3, 17),
        "PostedDate": utc(2025, 2, 15, 18, 30),
        "IncludesOneTime": True,
        "Comments": 'refund, see "credit memo"',
        "CreatedDate": utc(2025, 2, 15, 18),
        "UpdatedDate": utc(2025, 2, 15, 18, 30),
    },
    {
        "Id": INV5,
        "AccountId": ACME,
        "InvoiceNumber": "INV00000005",
        "Status": "Posted",
        "Amount": D("0.01"),
        "Balance": D("0.01"),
        "TaxAmount": D("0.00"),
        "InvoiceDate": dt.date(2025, 3, 1),
        "DueDate": dt.date(2025, 3, 31),
        "PostedDate": utc(2025, 3, 2, 7),
        "IncludesOneTime": False,
        "Comments": "",
        "CreatedDate": utc(2025, 3, 2, 6, 59, 59),
        "UpdatedDate": utc(2025, 3, 2, 7),
    },
]
INVOICE_DELETED_AT = {INV4: utc(2025, 2, 20, 12)}
"""Soft-deleted before the first run (and after START_DATE): a full AQuA run lands it."""

INVOICE_ITEMS: list[dict[str, Value]] = [
    {
        "Id": ITEM1,
        "InvoiceId": INV1,
        "ChargeName": "Platform fee",
        "ChargeAmount": D("1200.00"),
        "Quantity": D("1"),
        "UnitPrice": D("1200"),
        "ServiceStartDate": dt.date(2025, 2, 1),
        "ServiceEndDate": dt.date(2025, 2, 28),
        "SKU": "SKU-00001",
        "Balance": D("0"),
        "CreatedDate": utc(2025, 2, 1, 10),
        "UpdatedDate": utc(2025, 2, 1, 10),
    },
    {
        "Id": ITEM2,
        "InvoiceId": INV1,
        "ChargeName": "API calls",
        "ChargeAmount": D("0.50"),
        "Quantity": D("10000"),
        "UnitPrice": D("0.00005"),
        "ServiceStartDate": dt.date(2025, 2, 1),
        "ServiceEndDate": dt.date(2025, 2, 28),
        "SKU": "SKU-00002",
        "Balance": D("0"),
        "CreatedDate": utc(2025, 2, 1, 10),
        "UpdatedDate": utc(2025, 2, 1, 10, 0, 1),
    },
    {
        "Id": ITEM3,
        "InvoiceId": INV2,
        "ChargeName": "Licence à vie ∞",
        "ChargeAmount": D("12345678901234567.89"),
        "Quantity": None,
        "UnitPrice": None,
        "ServiceStartDate": dt.date(2025, 2, 3),
        "ServiceEndDate": None,
        "SKU": "",
        "Balance": D("12345678901234567.89"),
        "CreatedDate": utc(2025, 2, 3, 8, 59),
        "UpdatedDate": utc(2025, 2, 3, 9),
    },
    {
        "Id": ITEM4,
        "InvoiceId": INV3,
        "ChargeName": "咨询服务",
        "ChargeAmount": D("99.99"),
        "Quantity": D("3"),
        "UnitPrice": D("33.33"),
        "ServiceStartDate": dt.date(2025, 2, 10),
        "ServiceEndDate": dt.date(2025, 3, 9),
        "SKU": "SKU-00004",
        "Balance": D("99.99"),
        "CreatedDate": utc(2025, 2, 10, 17),
        "UpdatedDate": utc(2025, 2, 10, 17),
    },
    {
        "Id": ITEM5,
        "InvoiceId": INV4,
        "ChargeName": "Refund",
        "ChargeAmount": D("-12.50"),
        "Quantity": D("1"),
        "UnitPrice": D("-12.50"),
        "ServiceStartDate": dt.date(2025, 2, 15),
        "ServiceEndDate": dt.date(2025, 2, 15),
        "SKU": "SKU-00005",
        "Balance": D("-12.50"),
        "CreatedDate": utc(2025, 2, 15, 18),
        "UpdatedDate": utc(2025, 2, 15, 18),
    },
    {
        "Id": ITEM6,
        "InvoiceId": INV5,
        "ChargeName": "Rounding",
        "ChargeAmount": D("0.01"),
        "Quantity": D("0.0001"),
        "UnitPrice": D("100"),
        "ServiceStartDate": dt.date(2025, 3, 1),
        "ServiceEndDate": dt.date(2025, 3, 31),
        "SKU": "SKU-00006",
        "Balance": D("0.01"),
        "CreatedDate": utc(2025, 3, 2, 7),
        "UpdatedDate": utc(2025, 3, 2, 7, 0, 1),
    },
]
SUBSCRIPTIONS: list[dict[str, Value]] = [
    {
        "Id": SUB1,
        "AccountId": ACME,
        "Name": "A-S00000001",
        "Status": "Active",
        "Version": 1,
        "TermType": "TERMED",
        "AutoRenew": True,
        "ContractEffectiveDate": dt.date(2025, 1, 5),
        "TermEndDate": dt.date(2026, 1, 5),
        "CancelledDate": None,
        "CreatedDate": utc(2025, 1, 5, 9, 1),
        "UpdatedDate": utc(2025, 1, 5, 9, 1),
    },
    {
        "Id": SUB2,
        "AccountId": SOCIETE,
        "Name": "A-S00000002",
        "Status": "Active",
        "Version": 3,
        "TermType": "EVERGREEN",
        "AutoRenew": None,
        "ContractEffectiveDate": dt.date(2025, 1, 7),
        "TermEndDate": None,
        "CancelledDate": None,
        "CreatedDate": utc(2025, 1, 7, 0, 0, 1),
        "UpdatedDate": utc(2025, 2, 3, 8, 0),
    },
    {
        "Id": SUB3,
        "AccountId": ZOE,
        "Name": "A-S00000003",
        "Status": "Cancelled",
        "Version": 2,
        "TermType": "TERMED",
        "AutoRenew": False,
        "ContractEffectiveDate": dt.date(2025, 1, 20),
        "TermEndDate": dt.date(2026, 1, 20),
        "CancelledDate": dt.date(2025, 2, 28),
        "CreatedDate": utc(2025, 1, 20, 12, 5),
        "UpdatedDate": utc(2025, 2, 28, 23, 59, 59),
    },
]


def default_tenant() -> Tenant:
    """A fresh copy of the default tenant (tests mutate it freely)."""
    tenant = Tenant(
        [
            ZuoraObject("Account", list(ACCOUNT_FIELDS)),
            ZuoraObject("Invoice", list(INVOICE_FIELDS), related=["Account"]),
            ZuoraObject("InvoiceItem", list(INVOICE_ITEM_FIELDS), related=["Invoice"]),
            ZuoraObject("Subscription", list(SUBSCRIPTION_FIELDS), related=["Account"]),
            ZuoraObject(
                "Usage",
                [Field("Id", "text"), Field("Quantity", "decimal"), *TIMESTAMPS],
                exportable=False,
            ),
        ]
    )
    for name, rows in (
        ("Account", ACCOUNTS),
        ("Invoice", INVOICES),
        ("InvoiceItem", INVOICE_ITEMS),
        ("Subscription", SUBSCRIPTIONS),
    ):
        for values in rows:
            updated = values["UpdatedDate"]
            assert isinstance(updated, dt.datetime)
            tenant.upsert(name, values, at=updated)
    for row_id, at in INVOICE_DELETED_AT.items():
        tenant.soft_delete("Invoice", row_id, at)
    return tenant
