// main() for a guest app built as a Linux program: argv (without the program name)
// becomes the app's command line, and its result the exit status (0 pass, 1 fail).
#include "kernel/app.h"

int main(int argc, char** argv) {
    return vfs::guest::app_main(argc - 1, argv + 1) == 0 ? 0 : 1;
}
