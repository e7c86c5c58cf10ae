-- import: the rows of import_stage, as binary COPY written by imp_row_copy_line.
COPY import_stage FROM STDIN (FORMAT binary)
