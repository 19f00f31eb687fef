#!/usr/bin/env python3
"""Makes the workbooks the workbook reader's tests read.

Usage: make_workbooks.py OUTDIR

Real spreadsheet programs write them: python3-openpyxl writes .xlsx files;
LibreOffice (soffice --headless --convert-to) and Gnumeric (ssconvert
--recalc) open those, compute their formulas and save them again as .xlsx
and .ods, into lo/ and gnumeric/ (each skipped when the program is not
installed; the tests that need those files then skip themselves). The
hostile files (a zip bomb, entities, an encrypted entry, an old .xls, ...)
are written byte by byte, as an attacker would.
"""
import datetime
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

import openpyxl

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def book(name, rows, title="Stok", before=None, setup=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    if before is not None:
        ws.title = before
        ws.append(["Catatan", "bukan data"])
        ws = wb.create_sheet(title)
    else:
        ws.title = title
    for row in rows:
        ws.append(row)
    if setup:
        setup(ws)
    wb.save(os.path.join(out, name))


header = ["store", "item", "count"]
book("basic.xlsx", [header, ["Medan", "beras", 12], ["Medan", "gula", 12.0], [],
                    ["Medan", "kopi", "7", None, None]])
book("decimal.xlsx", [header, ["Medan", "beras", 12.5]])
book("indonesian.xlsx", [["Gudang", "Barang", "Jumlah"], ["Medan", "beras", 1000],
                         ["Medan", "gula", "1.000"]],
     setup=lambda ws: setattr(ws["C2"], "number_format", "#.##0"))
book("formulas.xlsx", [header, ["Medan", "beras", "=2*6"], ["Medan", "gula", "=C2+1"],
                       ["=\"Me\"&\"dan\"", "kopi", 3]])
book("date.xlsx", [header, ["Medan", "beras", datetime.date(2024, 3, 1)]])
# A date column: the date cells as Excel keeps them (numbers formatted as dates).
book("dated.xlsx", [["Tanggal", "Gudang", "Barang", "Jumlah"],
                    [datetime.date(2026, 11, 30), "Medan", "beras", 12],
                    [datetime.date(2026, 11, 30), "Medan", "gula", 0]])
book("merged.xlsx", [header, ["Medan", "beras", 1], ["Medan", "gula", 2]],
     setup=lambda ws: ws.merge_cells("A2:A3"))
book("extra_sheet.xlsx", [header, ["Medan", "beras", 4]], title="Medan", before="Catatan")
book("no_store_sheet.xlsx", [["Catatan", "bukan data"]], title="Catatan")
# For the loader: rows out of key order, and a row listed twice.
book("unordered.xlsx", [header, ["Medan", "kopi", 3], ["Medan", "beras", 1],
                        ["Makassar", "gula", 2]])
book("duplicate.xlsx", [header, ["Medan", "kopi", 3], ["Makassar", "gula", 2],
                        ["Medan", "kopi", 5]])

# LibreOffice: the formulas computed and saved, and every book as .ods.
soffice = shutil.which("soffice")
if soffice:
    with tempfile.TemporaryDirectory() as profile:
        env = dict(os.environ, HOME=profile)
        sources = [os.path.join(out, n) for n in
                   ("basic.xlsx", "formulas.xlsx", "indonesian.xlsx", "extra_sheet.xlsx",
                    "merged.xlsx", "date.xlsx", "dated.xlsx")]
        for fmt in ("ods", "xlsx"):
            dest = os.path.join(out, "lo")
            subprocess.run([soffice, "-env:UserInstallation=file://" + profile, "--headless",
                            "--convert-to", fmt, "--outdir", dest] + sources,
                           check=True, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=300)

# Gnumeric (ssconvert): the same books, formulas computed (--recalc), saved
# as .xlsx and .ods by a third program (skipped when ssconvert is not
# installed; the tests that need those files then skip themselves).
ssconvert = shutil.which("ssconvert")
if ssconvert:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home)
        dest = os.path.join(out, "gnumeric")
        os.makedirs(dest, exist_ok=True)
        for name in ("basic.xlsx", "formulas.xlsx", "indonesian.xlsx", "extra_sheet.xlsx"):
            stem = os.path.splitext(name)[0]
            for fmt in ("xlsx", "ods"):
                subprocess.run([ssconvert, "--recalc", os.path.join(out, name),
                                os.path.join(dest, stem + "." + fmt)],
                               check=True, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=300)


# ---- hostile and wrong files ----------------------------------------------
CT = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
      'content-types"/>')
WB = ('<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
      '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
      '<sheets><sheet name="Stok" sheetId="1" r:id="rId1"/></sheets></workbook>')
RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '</Relationships>')
SHEET_HEAD = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
              'spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = '</sheetData></worksheet>'


def raw_xlsx(name, sheet, extra=None, strings=None):
    with zipfile.ZipFile(os.path.join(out, name), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CT)
        z.writestr("xl/workbook.xml", WB)
        z.writestr("xl/_rels/workbook.xml.rels", RELS)
        if strings is not None:
            z.writestr("xl/sharedStrings.xml", strings)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        for n, data in (extra or {}).items():
            z.writestr(n, data)


def row(r, *cells):
    return '<row r="%d">%s</row>' % (r, "".join(cells))


def istr(ref, text):
    return '<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, text)


HEADER = row(1, istr("A1", "store"), istr("B1", "item"), istr("C1", "count"))

# Shared strings, an inline string, rich-text runs with a phonetic run, a
# number, an empty row and trailing empty cells.
raw_xlsx("strings.xlsx", SHEET_HEAD + row(1, '<c r="A1" t="s"><v>0</v></c>',
                                           '<c r="B1" t="s"><v>1</v></c>',
                                           '<c r="C1" t="s"><v>2</v></c>')
         + row(2, '<c r="A2" t="s"><v>3</v></c>',
               '<c r="B2" t="inlineStr"><is><r><t>be</t></r><r><t xml:space="preserve">ras'
               '</t></r><rPh><t>x</t></rPh></is></c>', '<c r="C2"><v>5</v></c>',
               '<c r="D2" t="s"/>', '<c r="E2"/>')
         + row(3) + row(5, '<c r="A5" t="s"><v>3</v></c>', '<c r="B5" t="s"><v>4</v></c>',
                        '<c r="C5"><v>6.0</v></c>') + SHEET_TAIL,
         strings='<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                 '<si><t>store</t></si><si><t>item</t></si><si><t>count</t></si>'
                 '<si><t>Medan</t></si><si><r><t>gu</t></r><r><t>la</t></r></si></sst>')
raw_xlsx("no_cached_value.xlsx", SHEET_HEAD + HEADER +
         row(2, istr("A2", "Medan"), istr("B2", "beras"), '<c r="C2"><f>1+1</f></c>') + SHEET_TAIL)
raw_xlsx("line_break.xlsx", SHEET_HEAD + HEADER +
         row(2, istr("A2", "Medan"), istr("B2", "be&#10;ras"), '<c r="C2"><v>1</v></c>') +
         row(3, istr("A3", "Medan"), istr("B3", "gula"), istr("C3", "x")) + SHEET_TAIL)
raw_xlsx("formula_error.xlsx", SHEET_HEAD + HEADER +
         row(2, istr("A2", "Medan"), istr("B2", "beras"),
             '<c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c>') + SHEET_TAIL)
raw_xlsx("bad_string_index.xlsx", SHEET_HEAD + row(1, '<c r="A1" t="s"><v>9</v></c>') + SHEET_TAIL,
         strings='<sst><si><t>store</t></si></sst>')
raw_xlsx("many_strings.xlsx", SHEET_HEAD + HEADER + SHEET_TAIL,
         strings="<sst>" + "<si><t>x</t></si>" * 50 + "</sst>")
raw_xlsx("entities.xlsx", '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
         '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><worksheet><sheetData>'
         + row(1, istr("A1", "&lol2;")) + SHEET_TAIL)
raw_xlsx("external_entity.xlsx", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
         '"file:///etc/passwd">]><worksheet><sheetData>' + row(1, istr("A1", "&e;"))
         + SHEET_TAIL)
raw_xlsx("deep.xlsx", SHEET_HEAD + "<a>" * 100 + "</a>" * 100 + SHEET_TAIL)
raw_xlsx("bomb.xlsx", SHEET_HEAD + HEADER + " " * (64 * 1024 * 1024) + SHEET_TAIL)
raw_xlsx("traversal.xlsx", SHEET_HEAD + HEADER + SHEET_TAIL, extra={"../../evil.txt": "x"})
raw_xlsx("damaged_xml.xlsx", SHEET_HEAD + "<row r='1'><c>" + SHEET_TAIL)
# The sheet's part, named "sheet" by the relationships, is missing: its
# problem reads like "the workbook has no sheet" but is a missing part.
with zipfile.ZipFile(os.path.join(out, "missing_part_sheet.xlsx"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", CT)
    z.writestr("xl/workbook.xml", WB)
    z.writestr("xl/_rels/workbook.xml.rels", RELS.replace('"worksheets/sheet1.xml"', '"/sheet"'))

# An encrypted zip entry: the "encrypted" flag set in both headers.
with open(os.path.join(out, "strings.xlsx"), "rb") as f:
    data = bytearray(f.read())
for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
    i = data.find(sig)
    while i >= 0:
        flags = struct.unpack_from("<H", data, i + off)[0]
        struct.pack_into("<H", data, i + off, flags | 1)
        i = data.find(sig, i + 4)
with open(os.path.join(out, "encrypted_entry.xlsx"), "wb") as f:
    f.write(data)

# OLE compound files: Excel's password-protected workbook (an
# "EncryptedPackage" stream) and an old .xls.
ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + b"\0" * 1016
with open(os.path.join(out, "protected.xlsx"), "wb") as f:
    f.write(ole + "EncryptedPackage".encode("utf-16-le") + b"\0" * 64)
with open(os.path.join(out, "old.xls"), "wb") as f:
    f.write(ole + "Workbook".encode("utf-16-le") + b"\0" * 64)
with open(os.path.join(out, "csv_named.xlsx"), "w") as f:
    f.write("store,item,count\nMedan,beras,5\n")
with zipfile.ZipFile(os.path.join(out, "not_workbook.xlsx"), "w") as z:
    z.writestr("readme.txt", "hello")
with open(os.path.join(out, "binary.xlsx"), "wb") as f:
    f.write(b"\x00\x01\x02garbage")

# .ods written by hand: repeated rows and columns, value types, an
# annotation, a formula without a value, a covered (merged) cell.
ODS_HEAD = ('<?xml version="1.0"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
            'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body>'
            '<office:spreadsheet>')
ODS_TAIL = '</office:spreadsheet></office:body></office:document-content>'


def tc(text=None, vtype=None, value=None, extra=""):
    attrs = extra
    if vtype:
        attrs += ' office:value-type="%s"' % vtype
    if value is not None:
        attrs += ' office:value="%s"' % value
    body = "<text:p>%s</text:p>" % text if text is not None else ""
    return "<table:table-cell%s>%s</table:table-cell>" % (attrs, body)


def tr(*cells, extra=""):
    return "<table:table-row%s>%s</table:table-row>" % (extra, "".join(cells))


def ods(name, content, manifest=None):
    with zipfile.ZipFile(os.path.join(out, name), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", ODS_HEAD + content + ODS_TAIL)
        if manifest:
            z.writestr("META-INF/manifest.xml", manifest)


OHEAD = tr(tc("store", "string"), tc("item", "string"), tc("count", "string"))
ods("repeated.ods", '<table:table table:name="Stok">' + OHEAD
    + tr(tc("Medan", "string"), tc("be<text:s text:c=\"2\"/>ras<office:annotation><text:p>note"
                                   "</text:p></office:annotation>", "string"),
         tc("1.000", "float", "1000"), tc(extra=' table:number-columns-repeated="16381"'))
    + tr(tc(extra=' table:number-columns-repeated="1024"'),
         extra=' table:number-rows-repeated="1048570"')
    + tr(tc("Medan", "string"), tc("gula", "string"), tc("3", "float", "3"))
    + '</table:table>')
ods("ods_repeated_data.ods", '<table:table table:name="Stok">' + OHEAD
    + tr(tc("Medan", "string"), tc("beras", "string"), tc("3", "float", "3"),
         extra=' table:number-rows-repeated="2000"') + '</table:table>')
ods("ods_no_value.ods", '<table:table table:name="Stok">' + OHEAD
    + tr(tc("Medan", "string"), tc("beras", "string"), tc(extra=' table:formula="of:=1+1"'))
    + '</table:table>')
ods("ods_two_tables.ods", '<table:table table:name="Catatan">' + tr(tc("x", "string"))
    + '</table:table><table:table table:name="Medan">' + OHEAD
    + tr(tc("Medan", "string"), tc("beras", "string"), tc("8", "float", "8.0")) + '</table:table>')
ods("ods_encrypted.ods", '<table:table table:name="Stok"></table:table>',
    manifest='<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
             '<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/>'
             '</manifest:file-entry></manifest:manifest>')
