"""A lenient XMP (RDF/XML) reader: a packet's properties as plain Python values.

The XMP toolkit inside exiv2 rejects whole packets for faults that do not hide any
value (``Duplicate property or field node`` when a tool wrote ``dc:subject`` twice), and
pyexiv2 then refuses to open the file at all. This reader parses the XML itself and
keeps what it can: repeated array properties are concatenated, other repeats keep the
first value. XML that is not well-formed (a truncated packet) raises :class:`XmpError`.

Values: ``str`` (simple), ``list`` (rdf:Bag / rdf:Seq items), :class:`LangAlt`
(rdf:Alt of language alternatives) or ``dict`` (a struct). Property names are
``prefix:Local`` with the *conventional* prefix of the namespace (whatever prefix the
writer declared), so ``mwg-rs:Regions`` is found even when written as ``ns2:Regions``;
properties of namespaces not listed in :data:`PREFIXES` are left out.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"

PREFIXES: dict[str, str] = {
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/lightroom/1.0/": "lr",
    "http://www.digikam.org/ns/1.0/": "digiKam",
    "http://ns.microsoft.com/photo/1.0/": "MicrosoftPhoto",
    "http://ns.microsoft.com/photo/1.0": "MicrosoftPhoto",  # exiftool's spelling
    "http://ns.microsoft.com/photo/1.2/": "MP",
    "http://ns.microsoft.com/photo/1.2/t/RegionInfo#": "MPRI",
    "http://ns.microsoft.com/photo/1.2/t/Region#": "MPReg",
    "http://ns.iview-multimedia.com/mediapro/1.0/": "mediapro",
    "http://www.metadataworkinggroup.com/schemas/regions/": "mwg-rs",
    "http://ns.adobe.com/xmp/sType/Area#": "stArea",
    "http://ns.adobe.com/xap/1.0/sType/Dimensions#": "stDim",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": "Iptc4xmpCore",
}

_PACKET = re.compile(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>|<rdf:RDF[\s>].*?</rdf:RDF>", re.S)
_PACKET_START = re.compile(rb"<x:xmpmeta[\s>]|<rdf:RDF[\s>]")


class XmpError(ValueError):
    """The packet cannot be parsed at all (not well-formed XML, truncated)."""


class LangAlt(dict):
    """rdf:Alt language alternatives: ``{"x-default": "text", "de": ...}``."""

    def default(self) -> str | None:
        if "x-default" in self:
            return self["x-default"]
        return next(iter(self.values()), None)


def find_packet(data: bytes) -> bytes | None:
    """The XMP packet inside a file's bytes (the first complete one), or None.

    A packet that starts but never ends (truncated) is returned as it is, so that the
    parse fails with a reason instead of the file looking like it had none.
    """
    m = _PACKET.search(data)
    if m is not None:
        return m.group(0)
    start = _PACKET_START.search(data)
    return data[start.start() : start.start() + 65536] if start else None


# Real packets are a few kB (a Photoshop export with its edit history ~1-2 MB); past this a
# packet is refused whole, with a reason, instead of parsed into the catalog.
MAX_PACKET_BYTES = 4 << 20


def parse(packet: str | bytes) -> dict[str, Any]:
    """Every property of every top-level ``rdf:Description`` of the packet. Raises
    :class:`XmpError` for a packet over :data:`MAX_PACKET_BYTES` or one that declares a
    DOCTYPE or entities (never expanded)."""
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    packet = packet.strip(b"\x00 \t\r\n")
    if len(packet) > MAX_PACKET_BYTES:
        raise XmpError(f"XMP of {len(packet) / 1e6:.1f} MB is more than photoorg reads "
                       f"({MAX_PACKET_BYTES / 1e6:.0f} MB); skipped")
    m = _PACKET.search(packet)
    body = m.group(0) if m else packet
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise XmpError("XMP declares a DOCTYPE or entities; skipped")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise XmpError(f"XMP is not well-formed XML ({exc})") from exc
    rdf = root if root.tag == f"{{{RDF}}}RDF" else root.find(f".//{{{RDF}}}RDF")
    if rdf is None:
        raise XmpError("XMP packet without rdf:RDF")
    props: dict[str, Any] = {}
    for desc in rdf.findall(f"{{{RDF}}}Description"):
        _merge(props, _struct(desc))
    return props


def _name(tag: str) -> str | None:
    if not tag.startswith("{"):
        return None
    uri, local = tag[1:].split("}", 1)
    prefix = PREFIXES.get(uri)
    return None if prefix is None else f"{prefix}:{local}"


def _merge(props: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        old = props.get(key)
        if old is None:
            props[key] = value
        elif isinstance(old, list) and isinstance(value, list):
            old.extend(value)  # the same array written twice: keep both halves
        # any other repeat: the first value stands


def _is_rdf(tag: str) -> bool:
    return tag.startswith(f"{{{RDF}}}") or tag.startswith(f"{{{XML_NS}}}")


def _struct(elem: ET.Element) -> dict[str, Any]:
    """Fields of a struct element: its non-RDF attributes and its child properties."""
    out: dict[str, Any] = {}
    for attr, value in elem.attrib.items():
        if not _is_rdf(attr) and (key := _name(attr)) is not None:
            out.setdefault(key, value)
    for child in elem:
        key = _name(child.tag)
        if key is not None:
            _merge(out, {key: _value(child)})
    return out


def _value(elem: ET.Element) -> Any:
    if elem.get(f"{{{RDF}}}parseType") == "Resource":
        return _struct(elem)
    resource = elem.get(f"{{{RDF}}}resource")
    if resource is not None:
        return resource
    children = list(elem)
    if children:
        first = children[0]
        if first.tag in (f"{{{RDF}}}Bag", f"{{{RDF}}}Seq"):
            return [_value(li) for li in first.findall(f"{{{RDF}}}li")]
        if first.tag == f"{{{RDF}}}Alt":
            alt = LangAlt()
            for li in first.findall(f"{{{RDF}}}li"):
                alt.setdefault(li.get(f"{{{XML_NS}}}lang", "x-default"), (li.text or "").strip())
            return alt
        if first.tag == f"{{{RDF}}}Description":
            return _struct(first)
        return _struct(elem)
    if any(not _is_rdf(a) for a in elem.attrib):  # shorthand struct: fields as attributes
        return _struct(elem)
    return (elem.text or "").strip()
