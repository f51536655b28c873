"""The XML reader's parser: defusedxml's, with one memo of element names for all documents."""

from __future__ import annotations

from xml.etree import ElementTree

import defusedxml.ElementTree as SafeElementTree
import httpx
import pytest

from assetquery._errors import MalformedResponse
from assetquery.adapters._wire import _element_name, xml_body

DOCUMENTS = [
    b"<CxResponse><Head><Jgdm>0000</Jgdm></Head><Fcxx><Bdcdy><Zl>x</Zl></Bdcdy></Fcxx></CxResponse>",
    b'<?xml version="1.0" encoding="utf-8"?><a xmlns="urn:court" xmlns:p="urn:p" p:k="v">'
    b"<p:b>1</p:b><c p:x='2'>t</c></a>",
    "<答复><结果 代码='0000'>已查到</结果></答复>".encode(),
]


def answer(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "application/xml"})


@pytest.mark.parametrize("body", DOCUMENTS)
def test_the_tree_is_the_one_defusedxml_builds(body: bytes) -> None:
    for _ in range(2):  # the second time, every name comes from the shared memo
        ours = xml_body(answer(body)).element
        theirs = SafeElementTree.fromstring(body, forbid_dtd=True)
        assert ElementTree.tostring(ours) == ElementTree.tostring(theirs)
        assert [e.tag for e in ours.iter()] == [e.tag for e in theirs.iter()]
        assert [e.attrib for e in ours.iter()] == [e.attrib for e in theirs.iter()]


def test_entities_are_still_refused() -> None:
    body = b'<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'
    with pytest.raises(MalformedResponse) as caught:
        xml_body(answer(body))
    assert caught.value.code == "forbidden_xml"


def test_invented_tag_names_do_not_grow_the_memo_without_bound() -> None:
    tags = "".join(f"<t{n}/>" for n in range(2_000))
    xml_body(answer(f"<r>{tags}</r>".encode()))
    info = _element_name.cache_info()
    assert info.maxsize is not None and info.currsize <= info.maxsize <= 1_000
