"""Pure validation logic: the XLSForm expression language and the response validator."""
