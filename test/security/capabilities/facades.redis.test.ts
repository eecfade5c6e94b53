import { facadeDenials } from './facade-suite.js';

facadeDenials(true);
