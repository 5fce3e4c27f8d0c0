/** The package's name and version, as in package.json (a unit spec keeps them in step). */
export const PACKAGE_NAME = 'nestjs-esales';
export const PACKAGE_VERSION = '0.1.0';
