// The COM1 16550 UART: the console the e2e tests read (`-serial`).
#pragma once

namespace vfs::guest::serial {

void init();
void put_char(char c);
void write(const char* s, unsigned long len);

}  // namespace vfs::guest::serial
