/* Temporary main() until cli.c lands. */
#include "config.h"
#include <stdio.h>
int main(void)
{
    puts(PACKAGE_STRING);
    return 0;
}
