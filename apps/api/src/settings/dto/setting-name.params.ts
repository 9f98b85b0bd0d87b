import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { SETTING_NAME_PATTERN, SETTING_NAME_RULE } from '../setting-name';

export class SettingNameParams {
  @ApiProperty({ description: 'The setting name.', pattern: SETTING_NAME_PATTERN.source, example: 'debug' })
  @Matches(SETTING_NAME_PATTERN, { message: `name ${SETTING_NAME_RULE}` })
  name!: string;
}
