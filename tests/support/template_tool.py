#!/usr/bin/python3
"""The stock-count template as a spreadsheet program sees it (openpyxl).

  template_tool.py inspect FILE          prints what a manager would see, as JSON
  template_tool.py fill FILE OUT N...    writes the counts N... into the count
                                         column (column D, from row 2) and saves OUT;
                                         "-" leaves a cell empty
  template_tool.py email FILE            reads an email (RFC 5322) with Python's email
                                         package and prints its parts and the attached
                                         sheet (as `inspect` does), as JSON

Used by tests/unit/template_writer_test.cpp and tests/e2e/test_templates.py.
"""
import email
import email.policy
import io
import json
import sys

import openpyxl


def inspect(path):
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    rules = [
        {
            "type": dv.type,
            "operator": dv.operator,
            "formula1": dv.formula1,
            "sqref": str(dv.sqref),
            "error_title": dv.errorTitle,
            "error": dv.error,
            "show_error": bool(dv.showErrorMessage),
            "error_style": dv.errorStyle or "stop",
            "allow_blank": bool(dv.allow_blank),
        }
        for dv in ws.data_validations.dataValidation
    ]
    return {
        "sheets": wb.sheetnames,
        "freeze_panes": ws.freeze_panes,
        "header": [c.value for c in ws[1]],
        "rows": [list(r) for r in ws.iter_rows(min_row=2, values_only=True)],
        "validations": rules,
        "notes": {c.coordinate: c.comment.text for c in ws[1] if c.comment},
        "widths": {k: v.width for k, v in ws.column_dimensions.items()},
        "last_count_fill": ws["C2"].fill.fgColor.rgb if ws.max_row > 1 else None,
        "last_count_font": (ws["C2"].font.color.rgb
                            if ws.max_row > 1 and ws["C2"].font.color else None),
    }


def fill(path, out, counts):
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for i, count in enumerate(counts):
        ws.cell(row=2 + i, column=4).value = None if count == "-" else int(count)
    wb.save(out)


def read_email(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    out = {
        "subject": str(msg["Subject"]),
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "message_id": str(msg["Message-ID"]),
        "content_type": msg.get_content_type(),
        "defects": [str(d) for d in msg.defects],
        "parts": [],
    }
    for part in msg.walk():
        if part.is_multipart():
            continue
        entry = {"content_type": part.get_content_type(),
                 "filename": part.get_filename(),
                 "disposition": part.get_content_disposition(),
                 "defects": [str(d) for d in part.defects]}
        if part.get_content_maintype() == "text":
            entry["text"] = part.get_content()
        else:
            data = part.get_content()
            entry["size"] = len(data)
            entry["sheet"] = inspect(io.BytesIO(data))
        out["parts"].append(entry)
    return out


def main(argv):
    if len(argv) >= 3 and argv[1] == "email":
        json.dump(read_email(argv[2]), sys.stdout, ensure_ascii=False)
        return 0
    if len(argv) >= 3 and argv[1] == "inspect":
        json.dump(inspect(argv[2]), sys.stdout, ensure_ascii=False)
        return 0
    if len(argv) >= 4 and argv[1] == "fill":
        fill(argv[2], argv[3], argv[4:])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
