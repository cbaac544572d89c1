"""XLSForm spreadsheets: the shared vocabulary, the reader (spreadsheet to definition) and
the writer (definition to workbook)."""
